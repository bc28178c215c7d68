import type { SyncChangeInput } from '../../dto/delta-request';
import type { AppliedDto, ConflictDto } from '../../dto/delta-response.dto';
import { entityKey, StoredOutcome, StoredRow } from './batch.types';
import type { BatchEntity, ChangeVerdict } from './change-evaluator';

/**
 * The wire entries of one change. The entity is the one the whole batch left: states are
 * read after the batch (PROTOCOL 2: "after the request"), versions as the change left them.
 */
export function toOutcome(change: SyncChangeInput, verdict: ChangeVerdict, entity: BatchEntity | undefined): StoredOutcome {
  if (verdict.kind === 'error') {
    return { error: { entity_type: change.entity_type, entity_id: change.entity_id, code: verdict.code, message: verdict.message } };
  }
  const { decision } = verdict;
  const finalData = entity?.state && !entity.state.deleted ? entity.state.data : null;
  const conflict = (resolution: ConflictDto['resolution'], reason: string, rejected: string[] = []): ConflictDto => ({
    entity_type: change.entity_type,
    entity_id: change.entity_id,
    conflict_reason: reason,
    resolution,
    client_version: change.version ?? null,
    server_version: entity?.state?.version ?? null,
    server_data: finalData,
    rejected_fields: rejected,
  });
  if (decision.kind === 'conflict') return { conflict: conflict(decision.resolution, decision.reason, decision.rejectedFields) };
  const applied: AppliedDto = { entity_type: change.entity_type, entity_id: change.entity_id, version: verdict.version };
  if (decision.kind === 'merge') {
    return { applied: { ...applied, data: finalData }, conflict: conflict('merged', decision.reason, decision.rejectedFields) };
  }
  const basedOnCurrent = decision.kind === 'apply' && decision.basedOnCurrent && !entity?.resolver.appliedCarriesState;
  return { applied: basedOnCurrent ? applied : { ...applied, data: finalData } };
}

/** A failure of an `atomic` batch: a merge is one too (part of the client's intent was lost). */
export const isFailure = (o: StoredOutcome): boolean => Boolean(o.error || o.conflict);

/**
 * What an `atomic` batch that failed reports: nothing of it is stored, so only the offending
 * changes are listed (nothing as applied), conflicts with the server state as loaded (the
 * state before the batch).
 */
export function atomicFailures(outcomes: StoredOutcome[], loaded: Map<string, StoredRow>): StoredOutcome[] {
  return outcomes.map((o) => {
    if (!o.conflict) return { error: o.error };
    const row = loaded.get(entityKey(o.conflict.entity_type, o.conflict.entity_id));
    return {
      error: o.error,
      conflict: { ...o.conflict, server_version: row?.version ?? null, server_data: row && !row.deleted ? row.data : null },
    };
  });
}
