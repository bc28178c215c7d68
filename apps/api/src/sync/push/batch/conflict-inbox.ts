import { CONFLICT_ENTITY_TYPE, conflictRecord, EntityData, microsToIso } from '@app/sync-contract';
import type { FamilyClock, PreparedChange, StoredOutcome, StoredRow } from './batch.types';
import type { SyncChangeInput } from '../../dto/delta-request';
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
  evaluated: { prepared: PreparedChange; outcome: StoredOutcome; overridden?: EntityData }[],
  clock: FamilyClock,
  positions: PositionAllocator,
): StoredRow[] {
  const inbox = req.inbox;
  if (!inbox) return [];
  const at = microsToIso(clock.nowUs);
  return evaluated.flatMap(({ prepared: { change, resolver, valid }, outcome, overridden }) => {
    const lost = outcome.conflict;
    // PROTOCOL 2.12: the server values a family policy let the change overwrite are kept too.
    const byPolicy = overridden && policyEntry(change, overridden, outcome, req, at);
    if (!lost || change.entity_type === CONFLICT_ENTITY_TYPE) return byPolicy ? [entryRow(inbox, byPolicy, clock, positions)] : [];
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
    return [entryRow(inbox, data, clock, positions), ...(byPolicy ? [entryRow(inbox, byPolicy, clock, positions)] : [])];
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

/** An inbox entry as a row at the next position. Entries are never merged field by field: no field clocks. */
function entryRow(inbox: ConflictInbox, data: EntityData, clock: FamilyClock, positions: PositionAllocator): StoredRow {
  const changedUs = positions.next();
  return {
    id: inbox.newId(),
    version: 1,
    data,
    fieldClocks: {},
    deleted: false,
    clientUs: clock.nowUs,
    createdUs: changedUs,
    changedUs,
    deletedUs: null,
  };
}

/** PROTOCOL 2.12: the entry of server values a `keep_device` policy overwrote (reason `family policy`). */
function policyEntry(change: SyncChangeInput, overridden: EntityData, outcome: StoredOutcome, req: InboxRequest, at: string): EntityData {
  return conflictRecord(
    {
      entityType: change.entity_type,
      entityId: change.entity_id,
      action: change.action,
      sent: overridden,
      resolution: 'family_policy',
      reason: 'family policy',
      rejectedFields: Object.keys(overridden),
      serverData: outcome.applied?.data ?? null,
      clientTimestamp: change.client_timestamp,
    },
    { userId: req.scope.userId, deviceId: req.deviceId, at },
  );
}
