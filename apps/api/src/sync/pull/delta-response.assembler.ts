import { EntityData, microsToIso } from '@app/sync-contract';
import type { StoredOutcome } from '../push/batch/batch.types';
import type { ChangeErrorDto, DeltaResponseDto, ServerChangeDto } from '../dto/delta-response.dto';

/** One row of a pull, as stored (the reference mapping of what the pull SQL builds as JSON). */
export interface PulledRow {
  entityType: string;
  id: string;
  version: number;
  data: EntityData | null;
  clientUs: number;
  createdUs: number;
  changedUs: number;
  deleted: boolean;
}

/** One page of the pull. */
export interface PulledPage {
  rows: PulledRow[];
  /** The watermark the rows were read after; null: the full current state. */
  since: number | null;
  lastSyncAtUs: number;
  hasMore: boolean;
  resync: boolean;
}

/** The response of POST /sync/delta: the page of server changes and each change's outcome, in array order. */
export function assembleResponse(page: PulledPage, outcomes: StoredOutcome[]): DeltaResponseDto {
  const { rows, since, ...rest } = page;
  return assembleFromChanges({ ...rest, serverChanges: rows.map((row) => toServerChange(row, since)) }, outcomes);
}

/** The same, from `server_changes` already built (by the pull SQL, see SyncPullRepository). */
export function assembleFromChanges(
  page: Omit<PulledPage, 'rows' | 'since'> & { serverChanges: ServerChangeDto[] },
  outcomes: StoredOutcome[],
): DeltaResponseDto {
  const applied = outcomes.flatMap((o) => (o.applied ? [o.applied] : []));
  const conflicts = outcomes.flatMap((o) => (o.conflict ? [o.conflict] : []));
  const errors: ChangeErrorDto[] = outcomes.flatMap((o, index) => (o.error ? [{ index, ...o.error }] : []));
  return {
    server_changes: page.serverChanges,
    conflicts,
    errors,
    applied,
    last_sync_at: microsToIso(page.lastSyncAtUs),
    has_more: page.hasMore,
    // Only the first page of a full state asks the device to replace its replica; a
    // continuation (and any page of a first sync) just carries on.
    resync_required: page.resync,
    success: conflicts.length === 0 && errors.length === 0,
    applied_count: applied.length,
    error_count: errors.length,
  };
}

function toServerChange(row: PulledRow, since: number | null): ServerChangeDto {
  return {
    entity_type: row.entityType,
    entity_id: row.id,
    action: row.deleted ? 'delete' : since === null || row.createdUs > since ? 'create' : 'update',
    data: row.deleted ? null : row.data,
    version: row.version,
    client_timestamp: microsToIso(row.clientUs),
    server_timestamp: microsToIso(row.changedUs),
  };
}
