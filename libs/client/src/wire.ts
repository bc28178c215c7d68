/**
 * The wire format of the sync protocol (libs/sync-contract/PROTOCOL.md, sections 2 and 2.8):
 * the one home of the JSON shapes of `POST /sync/delta` and the device history. Pure types,
 * no imports: the service's DTOs implement them (a type-only import) and the SDK uses them,
 * so the two cannot drift apart.
 */

export type EntityData = Record<string, unknown>;
export type ChangeAction = 'create' | 'update' | 'delete';

/** One element of `changes` (PROTOCOL 2, Request). */
export interface WireChange {
  entity_type: string;
  entity_id: string;
  action: ChangeAction;
  data?: EntityData;
  version?: number;
  client_timestamp: string;
  change_id?: string;
}

/** The body of `POST /sync/delta`. */
export interface DeltaRequest {
  device_id: string;
  last_sync_at?: string | null;
  changes?: WireChange[];
  atomic?: boolean;
  limit?: number;
  /** Opts in to sync lanes (PROTOCOL 2.9): `{}`, or the `lanes` of the previous answer, unchanged. */
  lanes?: LaneCursors;
  /** Opts in to field-level pulls (PROTOCOL 2.10): entities the device holds may come as patches. */
  patches?: boolean;
}

/** A lane ("0", "1", "2") and the position up to which it is delivered beyond `last_sync_at`. */
export type LaneCursors = Partial<Record<'0' | '1' | '2', string>>;

/** Entities of each lane still to come after a page (PROTOCOL 2.9; 10000 means at least that many). */
export type LaneBacklog = Record<'0' | '1' | '2', number>;

/** One entry of `server_changes`: the entity's current state (data null: deleted). */
export interface ServerChange {
  entity_type: string;
  entity_id: string;
  action: ChangeAction;
  data: EntityData | null;
  version: number;
  client_timestamp: string;
  server_timestamp: string;
  /** PROTOCOL 2.10: `data` holds only the fields written since the device's cursor (merge them into the entity it holds). */
  patch?: true;
}

export interface ConflictEntry {
  entity_type: string;
  entity_id: string;
  conflict_reason: string;
  resolution: 'server_wins' | 'merged' | 'delete_wins' | 'done_wins' | string;
  client_version: number | null;
  server_version: number | null;
  server_data: EntityData | null;
  rejected_fields: string[];
}

export interface ChangeError {
  index: number;
  entity_type: string;
  entity_id: string;
  code: string;
  message: string;
}

export interface AppliedEntry {
  entity_type: string;
  entity_id: string;
  version: number;
  /** Present when the change was not based on the server's state: the full state after the request (null = deleted). */
  data?: EntityData | null;
}

/** The answer of `POST /sync/delta` (HTTP 200, also with conflicts). */
export interface DeltaResponse {
  server_changes: ServerChange[];
  conflicts: ConflictEntry[];
  errors: ChangeError[];
  applied: AppliedEntry[];
  last_sync_at: string;
  has_more: boolean;
  resync_required: boolean;
  success: boolean;
  applied_count: number;
  error_count: number;
  /** The push's record (PROTOCOL 2.11: `GET /sync/requests/:id`); null when nothing was recorded. */
  request_id: string | null;
  /** Only for a request that opted in to lanes (PROTOCOL 2.9). */
  lanes?: LaneCursors;
  /** Only for a request that opted in to lanes (PROTOCOL 2.9). */
  backlog?: LaneBacklog;
}

/** `GET /sync/explain` (PROTOCOL 2.11): whether a device has an entity's latest state, and why not. */
export interface Explanation {
  entity: { version: number; position: string; deleted: boolean; lane: number } | null;
  device: { last_sync_at: string | null; lanes: Record<string, string>; last_seen: string } | null;
  delivered: boolean;
  reason: 'delivered' | 'changed_after_last_sync' | 'device_never_synced' | 'never_existed' | 'purged';
}

/** One entry of `GET /sync/devices/:id/history` (PROTOCOL 2.8), newest first. */
export interface DeviceHistoryEntry {
  at: string;
  entity_type: string;
  entity_id: string;
  /** null for changes recorded before the history kept actions. */
  action: ChangeAction | null;
  outcome: 'applied' | 'merged' | 'conflict' | 'error';
  resolution?: string;
  code?: string;
}
