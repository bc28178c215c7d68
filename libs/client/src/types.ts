/** Wire types of `POST /sync/delta` (PROTOCOL 2) and the client's public shapes. */

export type EntityData = Record<string, unknown>;
export type ChangeAction = 'create' | 'update' | 'delete';

/** One element of `changes`, exactly as sent (and re-sent). */
export interface OutgoingChange {
  change_id: string;
  entity_type: string;
  entity_id: string;
  action: ChangeAction;
  data?: EntityData;
  version?: number;
  client_timestamp: string;
}

export interface ServerChange {
  entity_type: string;
  entity_id: string;
  action: ChangeAction;
  data: EntityData | null;
  version: number;
  client_timestamp: string;
  server_timestamp: string;
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
}

export interface DeltaRequest {
  device_id: string;
  last_sync_at: string | null;
  changes: OutgoingChange[];
  limit?: number;
}

/** An entity of the replica as the server last confirmed it. */
export interface StoredEntity {
  entity_type: string;
  entity_id: string;
  version: number;
  data: EntityData;
}

/** What `get` and `list` return: the server's state with this client's pending changes applied. */
export interface Entity {
  id: string;
  /** The version the server last confirmed (0 if the server has not seen the entity yet). */
  version: number;
  data: EntityData;
  /** True while changes of this client to the entity wait in the outbox. */
  pending: boolean;
}

export const entityKey = (type: string, id: string): string => `${type}\u0000${id}`;

export interface ChangeEvent {
  entity_type: string;
  entity_id: string;
  /** `local`: a create/update/delete of this client; `tab`: of another tab on the same storage; `server`: a sync changed the replica. */
  origin: 'local' | 'tab' | 'server';
  /** The entity as `get` now returns it (undefined when deleted). */
  entity: Entity | undefined;
}

export type ConflictEvent = ConflictEntry & { change?: OutgoingChange };

export type ErrorEvent =
  /** The server refused one change (permanent): it has left the outbox. */
  | { kind: 'change'; error: ChangeError; change: OutgoingChange }
  /** A sync round failed (network, 5xx after the retries, 4xx, auth); the outbox is kept. */
  | { kind: 'sync'; error: Error; status?: number };

export interface StatusEvent {
  /**
   * `idle`, `syncing`, `waiting` (backing off or honouring Retry-After), `offline` (the last
   * round failed), `blocked` (storage is full: edits and pages cannot be stored until space is freed).
   */
  state: 'idle' | 'syncing' | 'waiting' | 'offline' | 'blocked';
  pending: number;
  lastSyncAt: string | null;
  live: 'off' | 'connecting' | 'open' | 'stopped';
  /** Tabs on one shared storage: the `leader` syncs for the `follower`s; `only` when not shared. */
  tab: 'only' | 'leader' | 'follower';
}

export interface SyncClientEvents {
  change: ChangeEvent;
  conflict: ConflictEvent;
  error: ErrorEvent;
  status: StatusEvent;
}

/** What became of one change of this device, kept across restarts (`client.changes()`). */
export interface ChangeStatus {
  change_id: string;
  entity_type: string;
  entity_id: string;
  action: ChangeAction;
  /** `pending`: stored, not sent; `sent`: in a request not answered yet; then the outcome. */
  status: 'pending' | 'sent' | 'applied' | 'conflict' | 'error';
  /** The error's code (`status: 'error'`) or the conflict's resolution. */
  code?: string;
  /** When the status was last set (ISO). */
  at: string;
}

/** One entry of `GET /sync/devices/:id/history` (PROTOCOL 2.8), newest first. */
export interface DeviceHistoryEntry {
  at: string;
  entity_type: string;
  entity_id: string;
  action: ChangeAction;
  outcome: 'applied' | 'merged' | 'conflict' | 'error';
  resolution?: string;
  code?: string;
}
