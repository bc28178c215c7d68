import { Injectable } from '@nestjs/common';
import type { WireTransaction } from '@app/database';
import { clampClientTime, positionsAfter, sameValue, SyncBatchContext } from '@app/sync-contract';
import type { EvaluatedBatch, FamilyClock, StoredRow } from './batch/batch.types';
import { PositionAllocator } from './batch/position-allocator';
import type { SyncRequestContext } from './batch/prepare-request';
import { SyncRegistry } from '../sync-registry.service';
import { SyncRepository } from './sync.repository';

/** Runs the `@SyncHook()` providers inside the push's transaction, after its rows are written. */
@Injectable()
export class SyncHookRunner {
  constructor(
    private readonly registry: SyncRegistry,
    private readonly repo: SyncRepository,
  ) {}

  /**
   * Hooks write server-computed rows at the commit positions after the batch's own; the
   * family's position moves past them. Returns the family's position after the request.
   */
  async afterBatch(tx: WireTransaction, req: SyncRequestContext, clock: FamilyClock, batch: EvaluatedBatch): Promise<number> {
    if (batch.discarded) return batch.positionUs;
    const positions = new PositionAllocator({ ...clock, lastUs: batch.positionUs });
    const context = this.context({ tx, req, clock, positions }, batch);
    for (const hook of this.registry.hooks()) await hook.afterBatch(context);
    const positionUs = positions.last();
    if (positionUs > batch.positionUs) await this.repo.setFamilyPosition(tx, req.scope.familyId, positionUs);
    return positionUs;
  }

  /**
   * What a hook may do inside the request's transaction: read, and write computed states
   * through the sync write path (next commit positions, version + 1, field times = server
   * time; unchanged states are not written), and use its own repository on the transaction.
   */
  private context(
    on: { tx: WireTransaction; req: SyncRequestContext; clock: FamilyClock; positions: PositionAllocator },
    batch: EvaluatedBatch,
  ): SyncBatchContext {
    const { tx, req, clock } = on;
    const { familyId } = req.scope;
    return {
      familyId,
      userId: req.scope.userId,
      nowUs: clock.nowUs,
      clampUs: (us) => clampClientTime(us, clock.nowUs, req.maxSkewUs),
      transitions: batch.transitions,
      repository: (type) => new type({ query: (sql, params) => tx.query(sql, params) }),
      load: async (type, ids) => (ids.length === 0 ? new Map() : this.repo.loadRows(tx, this.tableOf(type), familyId, ids)),
      write: async (type, states) => {
        if (states.length === 0) return;
        const table = this.tableOf(type);
        const current = await this.repo.loadRows(
          tx,
          table,
          familyId,
          states.map((s) => s.id),
        );
        const rows = states.flatMap(({ id, data }) => computedRow(current.get(id), { id, data }, on));
        if (rows.length > 0) await this.repo.writeRows(tx, table, familyId, rows);
      },
    };
  }

  private tableOf(type: string): string {
    const resolver = this.registry.find(type);
    if (!resolver) throw new Error(`no entity type "${type}" is registered`);
    return resolver.table;
  }
}

/** The row a hook's state becomes; none when it equals the stored one. */
function computedRow(
  row: StoredRow | undefined,
  state: { id: string; data: Record<string, unknown> },
  on: { clock: FamilyClock; positions: PositionAllocator },
): StoredRow[] {
  const { clock, positions } = on;
  if (row && !row.deleted && sameValue(row.data, state.data)) return [];
  const changedUs = positions.next();
  const fieldClocks = { ...row?.fieldClocks };
  for (const [field, value] of Object.entries(state.data)) if (!sameValue(row?.data?.[field], value)) fieldClocks[field] = clock.nowUs;
  const written: StoredRow = {
    id: state.id,
    version: (row?.version ?? 0) + 1,
    data: state.data,
    fieldClocks,
    deleted: false,
    clientUs: clock.nowUs,
    createdUs: row && !row.deleted ? row.createdUs : changedUs,
    changedUs,
    deletedUs: null,
  };
  // PROTOCOL 2.10: the positions the write leaves, so the trigger skips the row.
  return [{ ...written, fieldPositions: positionsAfter(row, written) }];
}
