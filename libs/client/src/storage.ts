import { ChangeStatus, LaneCursors, OutgoingChange, StoredEntity } from './types.js';

/** Everything a client keeps between runs. */
export interface StoredState {
  /** The replica: the server's state as last confirmed (deleted entities are absent). */
  entities: StoredEntity[];
  /** Changes not yet answered by the server, in the order they were made. */
  outbox: OutgoingChange[];
  /** The watermark of the last page fully applied to `entities` (null: never synced). */
  lastSyncAt: string | null;
  /** The lane cursors that came with `lastSyncAt` (PROTOCOL 2.9); absent: none. */
  lanes?: LaneCursors;
  /** The latest changes' statuses (a storage may keep none). */
  changes?: ChangeStatus[];
}

/**
 * One atomic write. The client relies on all of it landing or none of it: the replica
 * updates of a page, the removal of the answered changes from the outbox and the page's
 * `last_sync_at` travel together, so a crash can only repeat a page, never skip one.
 * Steps apply in this order: clearEntities, deleteEntities, putEntities, deleteOutbox,
 * putOutbox, lastSyncAt and lanes.
 */
export interface StorageWrite {
  /** Drop the whole replica first (resync); the outbox is kept. */
  clearEntities?: boolean;
  /** Keys `[entity_type, entity_id]` to remove. */
  deleteEntities?: [string, string][];
  putEntities?: StoredEntity[];
  /** change_ids to remove from the outbox. */
  deleteOutbox?: string[];
  /** Changes to append to the outbox (in order; a known change_id is replaced in place). */
  putOutbox?: OutgoingChange[];
  /** Set when present (undefined leaves it unchanged). */
  lastSyncAt?: string | null;
  /** Set when present, always together with `lastSyncAt` (a watermark is only meaningful with its lane cursors). */
  lanes?: LaneCursors;
  /** Change statuses to store (by change_id) and to forget. */
  putChanges?: ChangeStatus[];
  deleteChanges?: string[];
}

/**
 * Where a SyncClient keeps its replica, outbox and watermark. Implement it for any store
 * that can write several records atomically (IndexedDB, SQLite, a file written by rename).
 * Two clients may use one storage at the same time only when it names itself `shared`
 * (tabs of one browser on one IndexedDB database): they then elect one leader that syncs.
 */
export interface SyncStorage {
  /** Everything stored, outbox in insertion order. Called by `start()`, and by tabs told of another's write. */
  load(): Promise<StoredState>;
  /** Applies `write` atomically and durably before resolving; a full disk rejects with StorageFullError. */
  write(write: StorageWrite): Promise<void>;
  /** Releases resources (a database connection); the data stays. */
  close?(): Promise<void>;
  /** Set when several clients (tabs) may open this same data at once: the name they coordinate on. */
  readonly shared?: string;
  /** The outbox alone (cheaper than load() for a leader told of another tab's change). */
  loadOutbox?(): Promise<OutgoingChange[]>;
  /** An atomic leader lease (where Web Locks are missing): true when `owner` holds it for `ttlMs` now. */
  lease?(owner: string, ttlMs: number, release?: boolean): Promise<boolean>;
}

/** The platform's storage is full (IndexedDB QuotaExceededError): nothing of the write landed. */
export class StorageFullError extends Error {
  constructor(override readonly cause: unknown) {
    super(`storage full: ${(cause as { message?: string } | null)?.message ?? String(cause)}`);
    this.name = 'StorageFullError';
  }
}
