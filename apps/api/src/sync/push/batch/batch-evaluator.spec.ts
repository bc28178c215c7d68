import { t } from '@app/testing/resolver-fixtures';
import type { SyncChangeInput } from '../../dto/delta-request';
import { SyncException } from '../../sync.exception';
import { StoredOutcome } from './batch.types';
import { clock, create, ISO, NOW, run, scope, settings, TASK, taskRow, update } from './batch.fixtures';
import { loadPlan, prepareRequest } from './prepare-request';

describe('evaluateBatch', () => {
  it('applies a create: version 1, one row at the first free position, its receipt, one transition, not echoed', () => {
    const { batch } = run({ changes: [create('t1')] });
    expect(batch.outcomes).toEqual([{ applied: { entity_type: 'task', entity_id: 't1', version: 1 } }]);
    const [row] = batch.writes.rowsByTable.get('tasks')!;
    expect(row).toMatchObject({
      id: 't1',
      version: 1,
      data: { ...TASK },
      clientUs: t(500),
      createdUs: NOW,
      changedUs: NOW,
      deletedUs: null,
    });
    expect(batch.writes.lastUs).toBe(NOW);
    expect(batch.positionUs).toBe(NOW);
    expect(batch.writes.receipts).toEqual([
      {
        deviceId: 'phone',
        key: expect.any(String),
        outcome: batch.outcomes[0],
        entityType: 'task',
        entityId: 't1',
        action: 'create',
        index: 0,
      },
    ]);
    expect(batch.transitions).toEqual([
      expect.objectContaining({ entityType: 'task', entityId: 't1', before: undefined, clientUs: t(500) }),
    ]);
    expect(batch.notEchoed).toEqual(new Map([['task', ['t1']]]));
    expect(batch.discarded).toBe(false);
  });

  it('evaluates in array order: an update sees the create before it; one row with the last version', () => {
    const { batch } = run({ changes: [create('t1'), update('t1', 1, { status: 'in_progress' })] });
    expect(batch.outcomes.map((o) => o.applied?.version)).toEqual([1, 2]);
    expect(batch.writes.rowsByTable.get('tasks')).toEqual([
      expect.objectContaining({ id: 't1', version: 2, data: { ...TASK, status: 'in_progress' } }),
    ]);
    expect(batch.transitions.map((tr) => tr.after.version)).toEqual([1, 2]);
  });

  it('gives positions in the order of each entity last change', () => {
    const { batch } = run({ changes: [create('a'), create('b'), update('a', 1, { title: 'again' })] });
    expect(batch.writes.rowsByTable.get('tasks')!.map((r) => [r.id, r.changedUs])).toEqual([
      ['b', NOW],
      ['a', NOW + 1],
    ]);
    expect(batch.positionUs).toBe(NOW + 1);
  });

  it('replays a retried change from its receipt: same outcome, nothing written, no new receipt', () => {
    const stored: StoredOutcome = { applied: { entity_type: 'task', entity_id: 't1', version: 7 } };
    const { batch } = run({ changes: [create('t1')], receipts: { t1: stored } });
    expect(batch.outcomes).toEqual([stored]);
    expect(batch.writes).toEqual({ rowsByTable: new Map(), lastUs: null, receipts: [] });
    expect(batch.transitions).toEqual([]);
    expect(batch.positionUs).toBe(clock.lastUs);
  });

  it('answers the same key twice in one batch once: the repeat gets the first outcome and stores nothing', () => {
    const same = create('t1');
    const { batch } = run({ changes: [same, { ...same }] });
    expect(batch.outcomes[1]).toBe(batch.outcomes[0]);
    expect(batch.writes.receipts).toHaveLength(1);
    expect(batch.writes.rowsByTable.get('tasks')).toHaveLength(1);
    expect(batch.transitions).toHaveLength(1);
  });

  it('reports a stale update as a conflict with the state after the batch and echoes the entity', () => {
    const { batch } = run({ changes: [update('t1', 1, { title: 'old' }, t(5))], rows: [taskRow('t1')], since: ISO(t(200)) });
    expect(batch.outcomes).toEqual([
      {
        conflict: expect.objectContaining({
          resolution: 'server_wins',
          client_version: 1,
          server_version: 2,
          server_data: TASK,
          rejected_fields: ['title'],
        }),
      },
    ]);
    expect(batch.writes.rowsByTable.size).toBe(0);
    expect(batch.notEchoed.size).toBe(0);
  });

  it('merges a stale update field by field: applied with data and a merged conflict, echoed', () => {
    const { batch } = run({
      changes: [update('t1', 1, { title: 'new', desc: 'old' }, t(500))],
      rows: [taskRow('t1', { fieldClocks: { ...taskRow('t1').fieldClocks, desc: t(600) } })],
    });
    const merged = { ...TASK, title: 'new' };
    expect(batch.outcomes).toEqual([
      {
        applied: { entity_type: 'task', entity_id: 't1', version: 3, data: merged },
        conflict: expect.objectContaining({ resolution: 'merged', server_version: 3, server_data: merged, rejected_fields: ['desc'] }),
      },
    ]);
    expect(batch.notEchoed.size).toBe(0);
  });

  it('echoes an applied entity that someone else changed after the watermark, not one the device had', () => {
    const rows = [taskRow('seen', { changedUs: t(100) }), taskRow('other', { changedUs: t(300) })];
    const { batch } = run({ changes: [update('seen', 2, { title: 'x' }), update('other', 2, { title: 'y' })], rows, since: ISO(t(200)) });
    expect(batch.outcomes.every((o) => o.applied && !o.conflict)).toBe(true);
    expect(batch.notEchoed).toEqual(new Map([['task', ['seen']]]));
  });

  it('reports per-change errors and keeps going', () => {
    const { batch } = run({
      changes: [{ ...create('x'), entity_type: 'note' }, create('bad', { title: 5 }), update('missing', 1, { title: 'z' }), create('ok')],
    });
    expect(batch.outcomes.map((o) => o.error?.code ?? 'applied')).toEqual(['unknown_entity_type', 'validation', 'not_found', 'applied']);
    expect(batch.writes.receipts).toHaveLength(4);
    expect([...batch.writes.rowsByTable.get('tasks')!].map((r) => r.id)).toEqual(['ok']);
  });

  it.each<[string, SyncChangeInput[], string[]]>([
    ['a conflict', [create('new'), update('t1', 1, { title: 'stale' }, t(5))], ['-', 'server_wins']],
    ['a merge', [create('new'), update('t1', 1, { title: 'newer', desc: 'older' }, t(500))], ['-', 'merged']],
    ['an error', [create('new'), update('missing', 1, { title: 'z' })], ['-', 'not_found']],
  ])('atomic with %s: discarded, nothing written, only failures reported with the state before the batch', (_name, changes, failures) => {
    const row = taskRow('t1', { fieldClocks: { ...taskRow('t1').fieldClocks, desc: t(600) } });
    const { batch } = run({ changes, rows: [row], atomic: true });
    expect(batch.discarded).toBe(true);
    expect(batch.writes).toEqual({ rowsByTable: new Map(), lastUs: null, receipts: [] });
    expect(batch.transitions).toEqual([]);
    expect(batch.positionUs).toBe(clock.lastUs);
    expect(batch.notEchoed.size).toBe(0);
    expect(batch.outcomes.map((o) => o.error?.code ?? o.conflict?.resolution ?? '-')).toEqual(failures);
    expect(batch.outcomes.some((o) => o.applied)).toBe(false);
    for (const o of batch.outcomes.filter((o) => o.conflict)) expect(o.conflict).toMatchObject({ server_version: 2, server_data: TASK });
  });

  it('atomic without failures writes like any batch', () => {
    const { batch } = run({ changes: [create('a')], atomic: true });
    expect(batch.discarded).toBe(false);
    expect(batch.writes.rowsByTable.get('tasks')).toHaveLength(1);
  });

  it('clamps a client clock running ahead to now + the allowed skew', () => {
    const { batch } = run({ changes: [create('t1', { title: 'x' }, NOW + 3_600_000_000)] });
    expect(batch.writes.rowsByTable.get('tasks')![0].clientUs).toBe(NOW + settings.maxSkewUs);
  });
});

describe('prepareRequest', () => {
  it.each<[string, Partial<Parameters<typeof prepareRequest>[1]>, RegExp]>([
    ['too many changes', { changes: Array.from({ length: 11 }, (_, i) => create(`t${i}`)) }, /at most 10 changes/],
    ['a task update without version', { changes: [{ ...update('t1', 1, {}), version: undefined }] }, /changes\.0\.version is required/],
    ['an impossible client_timestamp', { changes: [{ ...create('t1'), client_timestamp: '2025-02-30T00:00:00Z' }] }, /client_timestamp/],
    ['an impossible watermark', { last_sync_at: '2025-13-01T00:00:00Z' }, /last_sync_at/],
  ])('refuses %s before any lock', (_name, request, message) => {
    expect(() => prepareRequest(scope, { device_id: 'phone', ...request }, settings)).toThrow(SyncException);
    expect(() => prepareRequest(scope, { device_id: 'phone', ...request }, settings)).toThrow(message);
  });

  it('loads every distinct key and the ids of registered types only', () => {
    const req = prepareRequest(
      scope,
      { device_id: 'p', changes: [create('a'), create('a'), { ...create('n'), entity_type: 'note' }, create('b')] },
      settings,
    );
    expect(loadPlan([req])).toEqual({
      deviceIds: ['p', 'p', 'p'],
      keys: [req.changes[0].key, req.changes[2].key, req.changes[3].key],
      entities: [{ type: 'task', table: 'tasks', ids: ['a', 'b'] }],
    });
  });
});
