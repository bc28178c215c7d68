import { OutgoingChange, StoredEntity } from './types.js';

/** Everything a client keeps between runs. */
export interface StoredState {
  /** The replica: the server's state as last confirmed (deleted entities are absent). */
  entities: StoredEntity[];
  /** Changes not yet answered by the server, in the order they were made. */
  outbox: OutgoingChange[];
  /** The watermark of the last page fully applied to `entities` (null: never synced). */
  lastSyncAt: string | null;
}

/**
 * One atomic write. The client relies on all of it landing or none of it: the replica
 * updates of a page, the removal of the answered changes from the outbox and the page's
 * `last_sync_at` travel together, so a crash can only repeat a page, never skip one.
 * Steps apply in this order: clearEntities, deleteEntities, putEntities, deleteOutbox,
 * putOutbox, lastSyncAt.
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
}

/**
 * Where a SyncClient keeps its replica, outbox and watermark. Implement it for any store
 * that can write several records atomically (IndexedDB, SQLite, a file written by rename).
 * One client uses one storage; two clients must not share one at the same time.
 */
export interface SyncStorage {
  /** Everything stored, outbox in insertion order. Called once by `start()`. */
  load(): Promise<StoredState>;
  /** Applies `write` atomically and durably before resolving. */
  write(write: StorageWrite): Promise<void>;
  /** Releases resources (a database connection); the data stays. */
  close?(): Promise<void>;
}
