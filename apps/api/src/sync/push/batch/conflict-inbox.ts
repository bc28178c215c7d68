import { CONFLICT_ENTITY_TYPE, conflictRecord, EntityData, microsToIso } from '@app/sync-contract';
import type { FamilyClock, PreparedChange, StoredOutcome, StoredRow } from './batch.types';
import type { PositionAllocator } from './position-allocator';

/** Where the conflict inbox is stored, and how its ids are made (a uuid; injected for tests). */
export interface ConflictInbox {
  table: string;
  newId(): string;
  /** A server-owned type's rejected values larger than this (bytes of JSON) are kept as a marker. */
  maxRejectedBytes: number;
}

/**
 * PROTOCOL 2.13: a server-owned type's `data` is never validated (every change to it loses), so
 * what a client sent is kept only up to a size; past it, how large it was.
 */
export function boundedRejected(rejected: EntityData, maxBytes: number): EntityData {
  const bytes = Buffer.byteLength(JSON.stringify(rejected));
  return bytes <= maxBytes ? rejected : { truncated: true, bytes };
}

/** What the inbox needs of the request. */
export interface InboxRequest {
  scope: { userId: string };
  deviceId: string;
  inbox?: ConflictInbox;
}

/**
 * PROTOCOL 2.8: one `conflict` entry per merged or lost client change of the batch, evaluated
 * now (not a retry's replayed receipt, not an error), except changes to a `conflict` itself.
 * Rows take the next commit positions, so every device pulls them like any other change.
 */
export function inboxRows(
  req: InboxRequest,
  evaluated: { prepared: PreparedChange; outcome: StoredOutcome }[],
  clock: FamilyClock,
  positions: PositionAllocator,
): StoredRow[] {
  const inbox = req.inbox;
  if (!inbox) return [];
  const at = microsToIso(clock.nowUs);
  return evaluated.flatMap(({ prepared: { change, resolver, valid }, outcome }) => {
    const lost = outcome.conflict;
    if (!lost || change.entity_type === CONFLICT_ENTITY_TYPE) return [];
    const data: EntityData = conflictRecord(
      {
        entityType: change.entity_type,
        entityId: change.entity_id,
        action: change.action,
        sent: keptOfSent(change.data, valid),
        resolution: lost.resolution,
        reason: lost.conflict_reason,
        rejectedFields: lost.rejected_fields.length > 0 ? lost.rejected_fields : undefined,
        serverData: lost.server_data,
        clientTimestamp: change.client_timestamp,
      },
      { userId: req.scope.userId, deviceId: req.deviceId, at },
    );
    if (resolver?.serverOwned) data.rejected = boundedRejected(data.rejected as EntityData, inbox.maxRejectedBytes);
    const changedUs = positions.next();
    // Inbox entries are never merged field by field (a delete or Immutable): no field clocks to keep.
    const fieldClocks = {};
    return [
      {
        id: inbox.newId(),
        version: 1,
        data,
        fieldClocks,
        deleted: false,
        clientUs: clock.nowUs,
        createdUs: changedUs,
        changedUs,
        deletedUs: null,
      },
    ];
  });
}

/**
 * What the inbox keeps of the values a change sent (PROTOCOL 2.13): as the type's own
 * validation accepted them (normalised), only the fields the client sent (not a create's
 * defaults). A type that validates nothing (server-owned) keeps them as sent, bounded by size.
 */
function keptOfSent(sent: EntityData | undefined, valid: PreparedChange['valid']): EntityData | undefined {
  if (!sent || !valid?.ok || Object.keys(valid.data).length === 0) return sent;
  return Object.fromEntries(
    Object.keys(sent)
      .filter((k) => Object.hasOwn(valid.data, k))
      .map((k) => [k, valid.data[k]]),
  );
}
