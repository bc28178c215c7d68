import { StorageFullError, StorageWrite, StoredState, SyncStorage } from './storage.js';
import { ChangeStatus, LaneCursors, OutgoingChange, StoredEntity } from './types.js';

/* Structural IndexedDB types: the package does not depend on the DOM type definitions. */
interface Req<T = unknown> {
  result: T;
  error: unknown;
  onsuccess: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
interface OpenReq extends Req<Db> {
  transaction: Tx | null;
  onupgradeneeded: ((ev: { oldVersion: number }) => void) | null;
  onblocked: ((ev: unknown) => void) | null;
}
interface Store {
  put(value: unknown, key?: unknown): Req;
  add(value: unknown): Req;
  delete(key: unknown): Req;
  clear(): Req;
  get(key: unknown): Req;
  getAll(): Req<unknown[]>;
  index(name: string): { getKey(key: unknown): Req<unknown> };
  createIndex(name: string, keyPath: string, options?: { unique?: boolean }): unknown;
}
interface Tx {
  objectStore(name: string): Store;
  oncomplete: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onabort: ((ev: unknown) => void) | null;
  error: unknown;
  abort(): void;
}
interface Db {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options?: { keyPath?: string | string[]; autoIncrement?: boolean }): Store;
  deleteObjectStore(name: string): void;
  transaction(stores: string[], mode: 'readonly' | 'readwrite', options?: { durability?: string }): Tx;
  close(): void;
  onversionchange: ((ev: unknown) => void) | null;
}
export interface IDBFactoryLike {
  open(name: string, version?: number): OpenReq;
}

export interface IndexedDbStorageOptions {
  /** Database name; one per account and device. Default `delta-sync`. */
  name?: string;
  /** Default globalThis.indexedDB (pass fake-indexeddb's in Node tests). */
  indexedDB?: IDBFactoryLike;
  /**
   * A newer version of the SDK opened the database in another tab: this connection has
   * closed so the upgrade can go on, and this storage refuses writes from now on (reload).
   */
  onVersionChange?: () => void;
  /** Ask the browser once per database to keep it under storage pressure (navigator.storage.persist()); default true. */
  persist?: boolean;
}

/** Schema versions: 1 outbox keyed by a counter each tab kept; 2 the counter is the store's own, and change statuses. */
export const SCHEMA_VERSION = 2;
const ENTITIES = 'entities';
const OUTBOX = 'outbox';
const META = 'meta';
const CHANGES = 'changes';
const BY_CHANGE_ID = 'change_id';

interface OutboxRow {
  /** Absent until the store assigns it. */
  seq?: number;
  change: OutgoingChange;
}

/**
 * Browser storage: three object stores (entities keyed by [entity_type, entity_id], the
 * outbox keyed by the store's own increasing sequence number, and the watermark), and
 * every `write` as one readwrite transaction with strict durability, so a page and its
 * watermark land together or not at all. Tabs of one origin may open the same database:
 * the outbox's sequence numbers come from inside each transaction and changes are found
 * by change_id there too, so one tab never overwrites or deletes another's change.
 */
export class IndexedDbStorage implements SyncStorage {
  private db: Promise<Db> | null = null;
  private upgraded = false;

  constructor(private readonly opts: IndexedDbStorageOptions = {}) {}

  /** Tabs that open the same database name share it. */
  get shared(): string {
    return `delta-sync:${this.name}`;
  }

  async load(): Promise<StoredState> {
    const db = await this.open();
    const tx = db.transaction([ENTITIES, OUTBOX, META, CHANGES], 'readonly');
    const entities = tx.objectStore(ENTITIES).getAll();
    const outbox = tx.objectStore(OUTBOX).getAll();
    const lastSyncAt = tx.objectStore(META).get('lastSyncAt');
    const lanes = tx.objectStore(META).get('lanes');
    const changes = tx.objectStore(CHANGES).getAll();
    const asked = tx.objectStore(META).get('persistAsked');
    await done(tx);
    if (asked.result === undefined && this.opts.persist !== false) await this.askToPersist(db);
    return {
      entities: entities.result as StoredEntity[],
      outbox: (outbox.result as OutboxRow[]).map((r) => r.change),
      lastSyncAt: (lastSyncAt.result as string | null | undefined) ?? null,
      lanes: (lanes.result as LaneCursors | undefined) ?? {},
      changes: changes.result as ChangeStatus[],
    };
  }

  async loadOutbox(): Promise<OutgoingChange[]> {
    const db = await this.open();
    const tx = db.transaction([OUTBOX], 'readonly');
    const outbox = tx.objectStore(OUTBOX).getAll();
    await done(tx);
    return (outbox.result as OutboxRow[]).map((r) => r.change);
  }

  async write(w: StorageWrite): Promise<void> {
    const db = await this.open();
    const tx = db.transaction([ENTITIES, OUTBOX, META, CHANGES], 'readwrite', { durability: 'strict' });
    const finished = done(tx);
    try {
      const entities = tx.objectStore(ENTITIES);
      const outbox = tx.objectStore(OUTBOX);
      if (w.clearEntities) entities.clear();
      for (const key of w.deleteEntities ?? []) entities.delete(key);
      for (const e of w.putEntities ?? []) entities.put(e);
      // Looked up inside the transaction: another tab may have written since this one read.
      // Requests run in the order placed, so the callbacks keep deletes before puts in order.
      const byChangeId = outbox.index(BY_CHANGE_ID);
      for (const id of w.deleteOutbox ?? []) {
        const found = byChangeId.getKey(id);
        found.onsuccess = () => found.result !== undefined && outbox.delete(found.result);
      }
      for (const change of w.putOutbox ?? []) {
        const found = byChangeId.getKey(change.change_id);
        found.onsuccess = () => (found.result === undefined ? outbox.add({ change }) : outbox.put({ seq: found.result, change }));
      }
      if (w.lastSyncAt !== undefined) tx.objectStore(META).put(w.lastSyncAt, 'lastSyncAt');
      if (w.lanes !== undefined) tx.objectStore(META).put(w.lanes, 'lanes');
      const changes = tx.objectStore(CHANGES);
      for (const id of w.deleteChanges ?? []) changes.delete(id);
      for (const st of w.putChanges ?? []) changes.put(st);
    } catch (err) {
      // A request refused synchronously (a bad key, a value that cannot be cloned) would
      // otherwise let the requests before it commit: all or nothing.
      tx.abort();
      await finished.catch(() => undefined);
      throw storageError(err);
    }
    await finished.catch((err: unknown) => {
      throw storageError(err);
    });
  }

  /**
   * Takes or renews the leader lease of `owner` for `ttlMs` (for tabs without Web Locks):
   * one readwrite transaction, so two tabs never both hold it.
   */
  async lease(owner: string, ttlMs: number, release = false): Promise<boolean> {
    const db = await this.open();
    const tx = db.transaction([META], 'readwrite');
    const meta = tx.objectStore(META);
    const current = meta.get('leader');
    let mine = false;
    current.onsuccess = () => {
      const held = current.result as { owner: string; until: number } | undefined;
      const free = !held || held.owner === owner || held.until < Date.now();
      if (release) {
        if (held?.owner === owner) meta.delete('leader');
      } else if (free) {
        mine = true;
        meta.put({ owner, until: Date.now() + ttlMs }, 'leader');
      }
    };
    await done(tx);
    return mine;
  }

  /**
   * Without it a browser may evict the database, outbox included, under storage pressure.
   * Asked once per database (some browsers prompt); the answer is the browser's to keep.
   */
  private async askToPersist(db: Db): Promise<void> {
    const storage = (globalThis as unknown as { navigator?: { storage?: { persist?: () => Promise<boolean> } } }).navigator?.storage;
    if (!storage?.persist) return;
    const tx = db.transaction([META], 'readwrite');
    tx.objectStore(META).put(true, 'persistAsked');
    await done(tx);
    await storage.persist().catch(() => false);
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    if (db) (await db).close();
  }

  private get name(): string {
    return this.opts.name ?? 'delta-sync';
  }

  private open(): Promise<Db> {
    if (this.upgraded)
      return Promise.reject(new Error('IndexedDbStorage: the database was upgraded by a newer version in another tab; reload'));
    this.db ??= new Promise<Db>((resolve, reject) => {
      const factory = this.opts.indexedDB ?? (globalThis as unknown as { indexedDB?: IDBFactoryLike }).indexedDB;
      if (!factory) return reject(new Error('IndexedDbStorage: no indexedDB on this platform'));
      const req = factory.open(this.name, SCHEMA_VERSION);
      req.onupgradeneeded = (ev) => upgrade(req.result, req.transaction!, ev.oldVersion);
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => {
          db.close();
          this.db = null;
          this.upgraded = true;
          this.opts.onVersionChange?.();
        };
        resolve(db);
      };
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('IndexedDbStorage: database blocked by another connection'));
    });
    return this.db;
  }
}

/**
 * From any older schema to SCHEMA_VERSION, inside the versionchange transaction. 1 -> 2:
 * the outbox store is recreated with autoIncrement and a change_id index, its rows copied
 * with their sequence numbers (so their order is kept).
 */
function upgrade(db: Db, tx: Tx, oldVersion: number): void {
  if (oldVersion < 1) {
    db.createObjectStore(ENTITIES, { keyPath: ['entity_type', 'entity_id'] });
    db.createObjectStore(META);
  }
  const createOutbox = (rows: OutboxRow[]) => {
    const outbox = db.createObjectStore(OUTBOX, { keyPath: 'seq', autoIncrement: true });
    outbox.createIndex(BY_CHANGE_ID, 'change.change_id', { unique: true });
    for (const row of rows) outbox.put(row);
  };
  if (oldVersion < 2) db.createObjectStore(CHANGES, { keyPath: 'change_id' });
  if (oldVersion < 1) return createOutbox([]);
  if (oldVersion < 2) {
    const rows = tx.objectStore(OUTBOX).getAll();
    rows.onsuccess = () => {
      db.deleteObjectStore(OUTBOX);
      createOutbox(rows.result as OutboxRow[]);
    };
  }
}

/** A full disk or quota as a StorageFullError; anything else as it came. */
function storageError(err: unknown): unknown {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError' ? new StorageFullError(err) : err;
}

function done(tx: Tx): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}
