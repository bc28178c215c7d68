import { t } from '@app/testing/resolver-fixtures';
import type { SyncChangeInput } from '../../dto/delta-request';
import { entityKey, FamilyClock, Loaded, receiptKey, StoredOutcome, StoredRow } from './batch.types';
import { evaluateBatch } from './batch-evaluator';
import { evaluateGroup } from './group-evaluator';
import { loadPlan, prepareRequest, SyncRequestContext } from './prepare-request';
import { settings } from './batch.fixtures';

const clock: FamilyClock = { lastUs: t(900), horizonUs: 0, nowUs: t(1000) };
const ISO = (us: number) => new Date(us / 1000).toISOString();
const typeOf = (table: string) => ({ tasks: 'task' })[table]!;

const create = (id: string, title = 'Buy milk'): SyncChangeInput => ({
  entity_type: 'task',
  entity_id: id,
  action: 'create',
  data: { title },
  client_timestamp: ISO(t(500)),
});
const update = (id: string, version: number, title: string): SyncChangeInput => ({
  entity_type: 'task',
  entity_id: id,
  action: 'update',
  version,
  data: { title },
  client_timestamp: ISO(t(500)),
});

const request = (device: string, changes: SyncChangeInput[], opts: { user?: string; atomic?: boolean } = {}) =>
  prepareRequest(
    { familyId: '00000000-0000-4000-8000-000000000001', userId: opts.user ?? 'alice' },
    { device_id: device, changes, last_sync_at: null, atomic: opts.atomic },
    settings,
  );

const empty = (): Loaded => ({ receipts: new Map(), rows: new Map() });

/** The same requests one after another, each against what the ones before it stored (the reference). */
function sequential(reqs: SyncRequestContext[]) {
  const rows = new Map<string, StoredRow>();
  const receipts = new Map<string, StoredOutcome>();
  let lastUs = clock.lastUs;
  return reqs.map((req) => {
    const batch = evaluateBatch(req, { receipts, rows }, { ...clock, lastUs });
    if (!batch.discarded) {
      for (const row of batch.writes.rowsByTable.get('tasks') ?? []) rows.set(entityKey('task', row.id), row);
      for (const r of batch.writes.receipts) receipts.set(receiptKey(req.deviceId, r.key), r.outcome);
      lastUs = batch.positionUs;
    }
    return batch;
  });
}

describe('evaluateGroup', () => {
  it('decides each request against the state the ones before it left, with the outcomes of running them one by one', () => {
    const reqs = [
      request('phone', [create('a'), create('b')]),
      request('tablet', [update('a', 1, 'from tablet'), update('b', 5, 'stale')], { user: 'bob' }),
      request('phone', [update('a', 2, 'phone again')]),
    ];
    const group = evaluateGroup(reqs, empty(), clock, typeOf);
    const reference = sequential(reqs);
    expect(group.batches.map((b) => b.outcomes)).toEqual(reference.map((b) => b.outcomes));
    expect(group.batches.map((b) => b.positionUs)).toEqual(reference.map((b) => b.positionUs));
    expect(group.batches[2].outcomes).toEqual([{ applied: { entity_type: 'task', entity_id: 'a', version: 3 } }]);
  });

  it('writes one row per id (the last state), every receipt with its device, each device with its visits, the final position', () => {
    const reqs = [
      request('phone', [create('a')]),
      request('tablet', [update('a', 1, 'two')], { user: 'bob' }),
      request('phone', [create('c')]),
    ];
    const { writes, positionUs } = evaluateGroup(reqs, empty(), clock, typeOf);
    const rows = writes.rowsByTable.get('tasks')!;
    expect(rows.map((r) => [r.id, r.version, r.data?.title])).toEqual([
      ['a', 2, 'two'],
      ['c', 1, 'Buy milk'],
    ]);
    expect(rows.find((r) => r.id === 'a')!.createdUs).toBe(clock.nowUs);
    expect(writes.receipts.map((r) => [r.deviceId, r.entityId])).toEqual([
      ['phone', 'a'],
      ['tablet', 'a'],
      ['phone', 'c'],
    ]);
    expect(writes.devices).toEqual([
      { deviceId: 'phone', userId: 'alice', visits: 2, lastSyncUs: null, lanes: null },
      { deviceId: 'tablet', userId: 'bob', visits: 1, lastSyncUs: null, lanes: null },
    ]);
    expect(positionUs).toBe(clock.nowUs + 2);
    expect(writes.lastUs).toBe(positionUs);
  });

  it('a retry in the same group as its original replays the original outcome and writes nothing more', () => {
    const original = request('phone', [create('a'), update('x', 1, 'no such task')]);
    const retry = request('phone', [create('a'), update('x', 1, 'no such task')]);
    const { batches, writes } = evaluateGroup([original, retry], empty(), clock, typeOf);
    expect(batches[1].outcomes).toEqual(batches[0].outcomes);
    expect(writes.receipts).toHaveLength(2);
    expect(writes.rowsByTable.get('tasks')!.map((r) => r.version)).toEqual([1]);
  });

  it('a receipt loaded from an earlier commit answers a retry of the group', () => {
    const req = request('phone', [create('a')]);
    const stored = { applied: { entity_type: 'task', entity_id: 'a', version: 7 } };
    const loaded = { receipts: new Map([[receiptKey('phone', req.changes[0].key), stored]]), rows: new Map() };
    const { batches, writes } = evaluateGroup([req], loaded, clock, typeOf);
    expect(batches[0].outcomes).toEqual([stored]);
    expect(writes.receipts).toEqual([]);
    expect(writes.lastUs).toBeNull();
  });

  it('a failed atomic request between others writes nothing and does not disturb the ones after it', () => {
    const reqs = [
      request('phone', [create('a')]),
      request('tablet', [create('b'), update('zz', 3, 'missing')], { user: 'bob', atomic: true }),
      request('watch', [update('a', 1, 'after')]),
    ];
    const { batches, writes } = evaluateGroup(reqs, empty(), clock, typeOf);
    expect(batches[1].discarded).toBe(true);
    expect(batches[2].outcomes).toEqual([{ applied: { entity_type: 'task', entity_id: 'a', version: 2 } }]);
    expect(writes.rowsByTable.get('tasks')!.map((r) => r.id)).toEqual(['a']);
    expect(writes.receipts.map((r) => r.deviceId)).toEqual(['phone', 'watch']);
    expect(writes.devices.map((d) => d.deviceId)).toEqual(['phone', 'tablet', 'watch']);
  });

  it('a request whose entity a later request changed gets it echoed (its pull is read after the group)', () => {
    const reqs = [request('phone', [create('a'), create('b')]), request('tablet', [update('a', 1, 'later')], { user: 'bob' })];
    const { batches } = evaluateGroup(reqs, empty(), clock, typeOf);
    expect(batches[0].notEchoed.get('task')).toEqual(['b']);
  });

  it('names what a request touched and a later request of the group changed (its full-state pull must carry the tombstone)', () => {
    const remove = (id: string): SyncChangeInput => ({
      entity_type: 'task',
      entity_id: id,
      action: 'delete',
      version: 1,
      client_timestamp: ISO(t(600)),
    });
    const reqs = [request('phone', [create('a'), create('b')]), request('tablet', [remove('a')], { user: 'bob' })];
    const { batches } = evaluateGroup(reqs, empty(), clock, typeOf);
    expect(batches[0].changedLater).toEqual(new Map([['task', ['a']]]));
    expect(batches[1].changedLater).toEqual(new Map());
  });

  it('loadPlan: each (device, change key) pair once, every distinct id of the group', () => {
    const phone = request('phone', [create('a')]);
    const load = loadPlan([phone, request('tablet', [create('a'), create('b')]), phone]);
    expect(load.deviceIds).toEqual(['phone', 'tablet', 'tablet']);
    expect(load.keys).toHaveLength(3);
    expect(load.entities).toEqual([{ type: 'task', table: 'tasks', ids: ['a', 'b'] }]);
  });
});
