import { microsToIso } from '@app/sync-contract';
import type { StoredOutcome } from '../push/batch/batch.types';
import type { ChangeErrorDto, DeltaResponseDto, ServerChangeDto } from '../dto/delta-response.dto';

/** One page of the pull, as the pull SQL built it (see SyncPullRepository). */
export interface PulledPage {
  serverChanges: ServerChangeDto[];
  lastSyncAtUs: number;
  hasMore: boolean;
  resync: boolean;
}

/** The response of POST /sync/delta: the page of server changes and each change's outcome, in array order. */
export function assembleResponse(page: PulledPage, outcomes: StoredOutcome[]): DeltaResponseDto {
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
    // The push's record id (PROTOCOL 2.11), set once it is recorded.
    request_id: null,
  };
}
