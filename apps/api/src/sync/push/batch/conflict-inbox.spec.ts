import { ConflictResolver, microsToIso } from '@app/sync-contract';
import { t } from '@app/testing/resolver-fixtures';
import { BadgeConflictResolver } from '../../../badge/badge.conflict-resolver';
import { ConflictConflictResolver } from '../../../conflict/conflict.conflict-resolver';
import type { SyncChangeInput } from '../../dto/delta-request';
import { entityKey, Loaded, receiptKey } from './batch.types';
import { evaluateBatch } from './batch-evaluator';
import { Case, clock, create, ISO, NOW, resolvers, scope, settings, TASK, taskRow, update } from './batch.fixtures';
import { prepareRequest } from './prepare-request';

describe('evaluateBatch: the conflict inbox (PROTOCOL 2.8)', () => {
  const inboxResolvers: Record<string, ConflictResolver> = {
    ...resolvers,
    conflict: new ConflictConflictResolver(),
    badge: new BadgeConflictResolver(),
  };
  const inboxSettings = { ...settings, find: (type: string) => inboxResolvers[type] };
  function runInbox({ changes, rows = [], receipts = {}, atomic = false }: Case) {
    let n = 0;
    const req = { ...prepareRequest(scope, { device_id: 'phone', changes, atomic }, inboxSettings) };
    req.inbox = { table: 'conflicts', newId: () => `c${++n}`, maxRejectedBytes: 64 };
    const loaded: Loaded = {
      receipts: new Map(
        req.changes.filter((c) => receipts[c.change.entity_id]).map((c) => [receiptKey(req.deviceId, c.key), receipts[c.change.entity_id]]),
      ),
      rows: new Map(rows.map((r) => [entityKey(r.id.startsWith('c') ? 'conflict' : r.id.includes(':') ? 'badge' : 'task', r.id), r])),
    };
    return evaluateBatch(req, loaded, clock);
  }
  const stale = update('t1', 1, { title: 'mine' });
  const newer = taskRow('t1', { data: { ...TASK, title: 'theirs' }, fieldClocks: { ...taskRow('t1').fieldClocks, title: t(600) } });

  it('a stale update that loses records one entry after the batch rows, with the rejected and the kept value', () => {
    const batch = runInbox({ changes: [stale], rows: [newer] });
    expect(batch.outcomes[0].conflict).toBeDefined();
    const [entry] = batch.writes.rowsByTable.get('conflicts')!;
    expect(entry).toMatchObject({ id: 'c1', version: 1, deleted: false, changedUs: NOW, createdUs: NOW });
    expect(entry.data).toMatchObject({
      entityType: 'task',
      entityId: 't1',
      action: 'update',
      userId: 'alice',
      deviceId: 'phone',
      resolution: batch.outcomes[0].conflict!.resolution,
      rejected: { title: 'mine' },
      server: { title: 'theirs' },
      clientTimestamp: stale.client_timestamp,
      at: microsToIso(NOW),
    });
    expect(batch.writes.lastUs).toBe(NOW);
    expect(batch.positionUs).toBe(NOW);
  });

  it('a merge records only its rejected fields; the entry comes after the merged row', () => {
    const batch = runInbox({ changes: [update('t1', 1, { title: 'mine', desc: 'new desc' })], rows: [newer] });
    expect(batch.outcomes[0].conflict?.resolution).toBe('merged');
    expect(batch.writes.rowsByTable.get('tasks')![0].changedUs).toBe(NOW);
    const [entry] = batch.writes.rowsByTable.get('conflicts')!;
    expect(entry.changedUs).toBe(NOW + 1);
    expect(entry.data).toMatchObject({ resolution: 'merged', rejected: { title: 'mine' }, server: { title: 'theirs' } });
  });

  it.each<[string, Case]>([
    ['an applied change', { changes: [create('t2')] }],
    ['a per-change error', { changes: [create('t2', { title: 42 })] }],
    [
      'a replayed receipt of a conflict',
      {
        changes: [stale],
        rows: [newer],
        receipts: {
          t1: {
            conflict: {
              entity_type: 'task',
              entity_id: 't1',
              conflict_reason: 'x',
              resolution: 'server_wins',
              client_version: 1,
              server_version: 2,
              server_data: null,
              rejected_fields: [],
            },
          },
        },
      },
    ],
    ['a conflict of an atomic batch (rolled back)', { changes: [stale], rows: [newer], atomic: true }],
    [
      'an update of a conflict entry (refused, not itself recorded)',
      { changes: [{ entity_type: 'conflict', entity_id: 'c9', action: 'update', data: { rejected: {} }, client_timestamp: ISO(t(500)) }] },
    ],
  ])('%s records nothing', (_, c) => {
    expect(runInbox(c).writes.rowsByTable.get('conflicts')).toBeUndefined();
  });

  it('a dismissal and a new entry in one batch are both written (the new entry does not replace the tombstone)', () => {
    const entry = taskRow('c7', { version: 1, data: { entityType: 'task' }, fieldClocks: {} });
    const dismiss: SyncChangeInput = { entity_type: 'conflict', entity_id: 'c7', action: 'delete', client_timestamp: ISO(t(500)) };
    const batch = runInbox({ changes: [dismiss, stale], rows: [entry, newer] });
    expect(batch.writes.rowsByTable.get('conflicts')!.map((r) => [r.id, r.deleted])).toEqual([
      ['c7', true],
      ['c1', false],
    ]);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['small: kept as sent', { code: 'x' }, { code: 'x' }],
    ['over SYNC_MAX_REJECTED_BYTES: a marker with its size', { code: 'x'.repeat(100) }, { truncated: true, bytes: 111 }],
  ])('a lost change to a server-owned type, %s', (_, data, rejected) => {
    const badge: SyncChangeInput = {
      entity_type: 'badge',
      entity_id: 'bob:first_task',
      action: 'update',
      data,
      client_timestamp: ISO(t(500)),
    };
    const [entry] = runInbox({ changes: [badge] }).writes.rowsByTable.get('conflicts')!;
    expect(entry.data).toMatchObject({ entityType: 'badge', rejected });
  });

  it('a lost create keeps the fields it sent as validated, not the defaults validation added', () => {
    const deleted = taskRow('t1', { deleted: true, deletedUs: t(200) });
    const [entry] = runInbox({ changes: [create('t1', { title: 'again' })], rows: [deleted] }).writes.rowsByTable.get('conflicts')!;
    expect(entry.data).toMatchObject({ resolution: 'delete_wins' });
    expect(entry.data!.rejected).toEqual({ title: 'again' });
  });

  it('a client-writable type keeps its (validated) rejected values whatever their size', () => {
    const title = 'm'.repeat(400);
    const [entry] = runInbox({ changes: [update('t1', 1, { title })], rows: [newer] }).writes.rowsByTable.get('conflicts')!;
    expect(entry.data).toMatchObject({ rejected: { title } });
  });

  it('the same lost change twice in one batch is recorded once', () => {
    const batch = runInbox({ changes: [stale, stale], rows: [newer] });
    expect(batch.writes.rowsByTable.get('conflicts')).toHaveLength(1);
  });
});
