import { applyResponse } from './response-apply.js';
import { DeltaResponse, entityKey, OutgoingChange, StoredEntity } from './types.js';

const res = (over: Partial<DeltaResponse>): DeltaResponse => ({
  server_changes: [],
  conflicts: [],
  errors: [],
  applied: [],
  last_sync_at: '2025-11-11T15:00:00.000001Z',
  has_more: false,
  resync_required: false,
  success: true,
  applied_count: 0,
  error_count: 0,
  request_id: null,
  ...over,
});
const ch = (over: Partial<OutgoingChange>): OutgoingChange => ({
  change_id: `c-${Math.random()}`,
  entity_type: 'task',
  entity_id: 't1',
  action: 'update',
  client_timestamp: '2025-11-11T12:00:00.000Z',
  ...over,
});
const stored = (id: string, version: number, data: Record<string, unknown>): StoredEntity => ({
  entity_type: 'task',
  entity_id: id,
  version,
  data,
});
const replicaOf = (...es: StoredEntity[]) => new Map(es.map((e) => [entityKey(e.entity_type, e.entity_id), e]));
const K = (id: string) => entityKey('task', id);

describe('applyResponse', () => {
  it('a create applied as sent: the replica gets the data with the server defaults, at the applied version', () => {
    const create = ch({ action: 'create', data: { title: 'a', points: 5 }, version: 0 });
    const out = applyResponse(new Map(), [create], res({ applied: [{ entity_type: 'task', entity_id: 't1', version: 1 }] }));
    expect(out.entities.get(K('t1'))).toEqual(
      stored('t1', 1, { title: 'a', points: 5, desc: null, status: 'open', assignees: [], due: null, completedAt: null }),
    );
    expect(out.write).toMatchObject({ deleteOutbox: [create.change_id], lastSyncAt: '2025-11-11T15:00:00.000001Z' });
    expect(out.write.putEntities).toHaveLength(1);
  });

  it('two updates of one entity applied as sent stack on the replica', () => {
    const replica = replicaOf(stored('t1', 3, { title: 'a', desc: null }));
    const out = applyResponse(
      replica,
      [ch({ data: { title: 'b' }, version: 3 }), ch({ data: { desc: 'd' }, version: 4 })],
      res({
        applied: [
          { entity_type: 'task', entity_id: 't1', version: 4 },
          { entity_type: 'task', entity_id: 't1', version: 5 },
        ],
      }),
    );
    expect(out.entities.get(K('t1'))).toEqual(stored('t1', 5, { title: 'b', desc: 'd' }));
  });

  it('applied with data (stale version) and merged conflicts take the server state, and report the conflict with its change', () => {
    const replica = replicaOf(stored('t1', 1, { title: 'a', desc: 'x' }));
    const change = ch({ data: { title: 'mine', desc: 'y' }, version: 1 });
    const serverData = { title: 'theirs', desc: 'y' };
    const out = applyResponse(
      replica,
      [change],
      res({
        applied: [{ entity_type: 'task', entity_id: 't1', version: 4, data: serverData }],
        conflicts: [
          {
            entity_type: 'task',
            entity_id: 't1',
            conflict_reason: 'Version mismatch',
            resolution: 'merged',
            client_version: 1,
            server_version: 4,
            server_data: serverData,
            rejected_fields: ['title'],
          },
        ],
      }),
    );
    expect(out.entities.get(K('t1'))).toEqual(stored('t1', 4, serverData));
    expect(out.conflicts).toEqual([expect.objectContaining({ resolution: 'merged', rejected_fields: ['title'], change })]);
  });

  it('delete_wins: the entity leaves the replica; a clean delete too', () => {
    const replica = replicaOf(stored('t1', 2, { title: 'a' }), stored('t2', 1, { title: 'b' }));
    const out = applyResponse(
      replica,
      [ch({ data: { title: 'z' }, version: 2 }), ch({ entity_id: 't2', action: 'delete', version: 1 })],
      res({
        conflicts: [
          {
            entity_type: 'task',
            entity_id: 't1',
            conflict_reason: 'Entity deleted',
            resolution: 'delete_wins',
            client_version: 2,
            server_version: 3,
            server_data: null,
            rejected_fields: [],
          },
        ],
        applied: [{ entity_type: 'task', entity_id: 't2', version: 2 }],
      }),
    );
    expect(out.entities.get(K('t1'))).toBeNull();
    expect(out.entities.get(K('t2'))).toBeNull();
    expect(out.write.deleteEntities).toEqual([
      ['task', 't1'],
      ['task', 't2'],
    ]);
  });

  it('a per-change error changes nothing and is reported with its change; the other changes still apply', () => {
    const bad = ch({ entity_id: 'nope', data: { title: 'x' }, version: 1 });
    const good = ch({ action: 'create', entity_id: 't9', data: { title: 'ok' }, version: 0 });
    const out = applyResponse(
      new Map(),
      [bad, good],
      res({
        errors: [{ index: 0, entity_type: 'task', entity_id: 'nope', code: 'not_found', message: 'task nope does not exist' }],
        applied: [{ entity_type: 'task', entity_id: 't9', version: 1 }],
      }),
    );
    expect(out.errors).toEqual([{ error: expect.objectContaining({ code: 'not_found' }), change: bad }]);
    expect(out.entities.has(K('nope'))).toBe(false);
    expect(out.entities.get(K('t9'))?.version).toBe(1);
    expect(out.write.deleteOutbox).toEqual([bad.change_id, good.change_id]);
  });

  it('a replayed outcome older than the replica does not move it back; server_changes overwrite', () => {
    const replica = replicaOf(stored('t1', 5, { title: 'new' }));
    const out = applyResponse(
      replica,
      [ch({ data: { title: 'old' }, version: 1 })],
      res({
        applied: [{ entity_type: 'task', entity_id: 't1', version: 2 }],
        server_changes: [
          {
            entity_type: 'task',
            entity_id: 't2',
            action: 'create',
            data: { title: 'b' },
            version: 1,
            client_timestamp: 'x',
            server_timestamp: 'y',
          },
        ],
      }),
    );
    expect(out.entities.has(K('t1'))).toBe(false);
    expect(out.entities.get(K('t2'))).toEqual(stored('t2', 1, { title: 'b' }));
  });

  it('resync: the replica is cleared, entities this request wrote keep the state computed from the old replica', () => {
    const replica = replicaOf(stored('t1', 1, { title: 'a' }), stored('gone', 1, { title: 'g' }));
    const out = applyResponse(
      replica,
      [ch({ data: { title: 'b' }, version: 1 })],
      res({
        resync_required: true,
        applied: [{ entity_type: 'task', entity_id: 't1', version: 2 }],
        server_changes: [
          {
            entity_type: 'task',
            entity_id: 't3',
            action: 'create',
            data: { title: 'c' },
            version: 7,
            client_timestamp: 'x',
            server_timestamp: 'y',
          },
        ],
      }),
    );
    expect(out.write.clearEntities).toBe(true);
    expect(out.write.putEntities).toEqual([stored('t1', 2, { title: 'b' }), stored('t3', 7, { title: 'c' })]);
  });

  it('a patch (PROTOCOL 2.10) merges its fields into the entity the replica holds, in the page write; a full entry replaces it', () => {
    const replica = replicaOf(stored('t1', 1, { title: 'a', desc: 'long', status: 'open' }), stored('t2', 1, { title: 'b', desc: 'x' }));
    const sc = (id: string, version: number, data: Record<string, unknown>, patch?: true) => ({
      entity_type: 'task',
      entity_id: id,
      action: 'update' as const,
      data,
      version,
      client_timestamp: '2025-11-11T12:00:00.000000Z',
      server_timestamp: '2025-11-11T15:00:00.000000Z',
      ...(patch ? { patch } : {}),
    });
    const out = applyResponse(replica, [], res({ server_changes: [sc('t1', 2, { title: 'A' }, true), sc('t2', 2, { title: 'B' })] }));
    expect(out.entities.get(K('t1'))).toEqual(stored('t1', 2, { title: 'A', desc: 'long', status: 'open' }));
    expect(out.entities.get(K('t2'))).toEqual(stored('t2', 2, { title: 'B' }));
    expect(out.write.putEntities).toEqual([stored('t1', 2, { title: 'A', desc: 'long', status: 'open' }), stored('t2', 2, { title: 'B' })]);
  });
});
