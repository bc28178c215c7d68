import { conflictRecord, LostChange } from './conflict-record';

const ctx = { userId: 'bob', deviceId: 'phone', at: '2025-11-11T10:00:00.000001Z' };
const base: LostChange = {
  entityType: 'task',
  entityId: 't1',
  action: 'update',
  sent: { title: 'mine', status: 'pending' },
  resolution: 'server_wins',
  reason: 'Version conflict',
  serverData: { title: 'theirs', status: 'done', points: 5 },
  clientTimestamp: '2025-11-11T09:00:00Z',
};

describe('conflictRecord', () => {
  it.each<[string, Partial<LostChange>, unknown, unknown]>([
    ['a whole change lost: every sent field', {}, { title: 'mine', status: 'pending' }, { title: 'theirs', status: 'done' }],
    ['a merge: only the rejected fields', { resolution: 'merged', rejectedFields: ['status'] }, { status: 'pending' }, { status: 'done' }],
    ['done wins on the status', { resolution: 'done_wins', rejectedFields: ['status'] }, { status: 'pending' }, { status: 'done' }],
    [
      'an update of a deleted entity (delete_wins): the server kept nothing',
      { resolution: 'delete_wins', serverData: null },
      { title: 'mine', status: 'pending' },
      { title: null, status: null },
    ],
    [
      'a lost delete (server-owned type): the entity that stayed',
      { action: 'delete', sent: undefined, entityType: 'badge' },
      {},
      { title: 'theirs', status: 'done', points: 5 },
    ],
    ['a field the server never had', { sent: { note: 'x' } }, { note: 'x' }, { note: null }],
  ])('%s', (_, override, rejected, server) => {
    const record = conflictRecord({ ...base, ...override }, ctx);
    expect(record.rejected).toEqual(rejected);
    expect(record.server).toEqual(server);
    expect(record).toMatchObject({
      userId: 'bob',
      deviceId: 'phone',
      at: ctx.at,
      clientTimestamp: base.clientTimestamp,
      reason: base.reason,
    });
  });

  it('keeps odd keys as data, never as prototype', () => {
    const sent = JSON.parse('{"__proto__": {"x": 1}, "title": "t"}');
    const record = conflictRecord({ ...base, sent }, ctx);
    expect(Object.keys(record.rejected as object).sort()).toEqual(['__proto__', 'title']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
