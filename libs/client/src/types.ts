/** The client's public shapes; the wire format itself is in wire.ts (shared with the service). */

import type { ChangeAction, ChangeError, ConflictEntry, EntityData, LaneBacklog, WireChange } from './wire.js';

export type {
  AppliedEntry,
  ChangeAction,
  ChangeError,
  ConflictEntry,
  DeltaRequest,
  DeltaResponse,
  DeviceHistoryEntry,
  EntityData,
  Explanation,
  LaneBacklog,
  LaneCursors,
  ServerChange,
  WireChange,
} from './wire.js';

/** One element of `changes` as this client sends (and re-sends) it: always with its `change_id`. */
export interface OutgoingChange extends WireChange {
  change_id: string;
}

/** An entity of the replica as the server last confirmed it. */
export interface StoredEntity {
  entity_type: string;
  entity_id: string;
  version: number;
  data: EntityData;
}

/** What `get` and `list` return: the server's state with this client's pending changes applied. */
export interface Entity<T = EntityData> {
  id: string;
  /** The version the server last confirmed (0 if the server has not seen the entity yet). */
  version: number;
  data: T;
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
  /** Entities per lane still to come after the last page (PROTOCOL 2.9: lane 0 is tasks and events); null before the first answer. */
  backlog: LaneBacklog | null;
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
