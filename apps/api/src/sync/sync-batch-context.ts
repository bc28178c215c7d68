import type { QueryRunner } from 'typeorm';
import { clampClientTime, sameValue, StateTransition, SyncBatchContext } from '@app/sync-contract';
import type { FamilyScope } from '../family/family-caller';
import { PositionAllocator } from './position-allocator';
import { SyncRegistry } from './sync-registry.service';
import { FamilyClock, StoredRow, SyncRepository } from './sync.repository';

export interface BatchContextDeps {
  qr: QueryRunner;
  repo: SyncRepository;
  registry: SyncRegistry;
  caller: FamilyScope;
  clock: FamilyClock;
  maxSkewUs: number;
  transitions: StateTransition[];
  positions: PositionAllocator;
}

/**
 * What a `@SyncHook()` may do inside the request's transaction: read, and write computed
 * states through the sync write path (next commit positions, version + 1, field times =
 * server time; unchanged states are not written).
 */
export function createBatchContext(deps: BatchContextDeps): SyncBatchContext {
  const { qr, repo, registry, caller, clock, positions } = deps;
  const tableOf = (type: string) => {
    const resolver = registry.find(type);
    if (!resolver) throw new Error(`no entity type "${type}" is registered`);
    return resolver.table;
  };
  return {
    familyId: caller.familyId,
    userId: caller.userId,
    nowUs: clock.nowUs,
    clampUs: (us) => clampClientTime(us, clock.nowUs, deps.maxSkewUs),
    transitions: deps.transitions,
    query: (sql, params) => qr.query(sql, params),
    load: async (type, ids) => (ids.length === 0 ? new Map() : repo.loadRows(qr, tableOf(type), caller.familyId, ids)),
    write: async (type, states) => {
      if (states.length === 0) return;
      const table = tableOf(type);
      const current = await repo.loadRows(qr, table, caller.familyId, states.map((s) => s.id));
      const rows: StoredRow[] = [];
      for (const { id, data } of states) {
        const row = current.get(id);
        if (row && !row.deleted && sameValue(row.data, data)) continue;
        const changedUs = positions.next();
        const fieldClocks = { ...row?.fieldClocks };
        for (const [field, value] of Object.entries(data)) if (!sameValue(row?.data?.[field], value)) fieldClocks[field] = clock.nowUs;
        rows.push({
          id,
          version: (row?.version ?? 0) + 1,
          data,
          fieldClocks,
          deleted: false,
          clientUs: clock.nowUs,
          createdUs: row && !row.deleted ? row.createdUs : changedUs,
          changedUs,
          deletedUs: null,
        });
      }
      if (rows.length > 0) await repo.writeRows(qr, table, caller.familyId, rows);
    },
  };
}
