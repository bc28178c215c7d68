import { StorageWrite, StoredState, SyncStorage } from './storage.js';
import { OutgoingChange, StoredEntity } from './types.js';

/* Structural IndexedDB types: the package does not depend on the DOM type definitions. */
interface Req<T = unknown> {
  result: T;
  error: unknown;
  onsuccess: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
interface OpenReq extends Req<Db> {
  onupgradeneeded: ((ev: unknown) => void) | null;
  onblocked: ((ev: unknown) => void) | null;
}
interface Store {
  put(value: unknown, key?: unknown): Req;
  delete(key: unknown): Req;
  clear(): Req;
  get(key: unknown): Req;
  getAll(): Req<unknown[]>;
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
  createObjectStore(name: string, options?: { keyPath?: string | string[] }): Store;
  transaction(stores: string[], mode: 'readonly' | 'readwrite', options?: { durability?: string }): Tx;
  close(): void;
}
export interface IDBFactoryLike {
  open(name: string, version?: number): OpenReq;
}

export interface IndexedDbStorageOptions {
  /** Database name; one per account and device. Default `delta-sync`. */
  name?: string;
  /** Default globalThis.indexedDB (pass fake-indexeddb's in Node tests). */
  indexedDB?: IDBFactoryLike;
}

const ENTITIES = 'entities';
const OUTBOX = 'outbox';
const META = 'meta';

interface OutboxRow {
  seq: number;
  change: OutgoingChange;
}

/**
 * Browser storage: three object stores (entities keyed by [entity_type, entity_id], the
 * outbox keyed by an increasing sequence number, and the watermark), and every `write`
 * as one readwrite transaction with strict durability, so a page and its watermark land
 * together or not at all.
 */
export class IndexedDbStorage implements SyncStorage {
  private db: Promise<Db> | null = null;
  /** change_id -> outbox key, read at load(): writes need no reads inside their transaction. */
  private readonly seqOf = new Map<string, number>();
  private nextSeq = 1;

  constructor(private readonly opts: IndexedDbStorageOptions = {}) {}

  async load(): Promise<StoredState> {
    const db = await this.open();
    const tx = db.transaction([ENTITIES, OUTBOX, META], 'readonly');
    const entities = tx.objectStore(ENTITIES).getAll();
    const outbox = tx.objectStore(OUTBOX).getAll();
    const lastSyncAt = tx.objectStore(META).get('lastSyncAt');
    await done(tx);
    const rows = (outbox.result as OutboxRow[]).sort((a, b) => a.seq - b.seq);
    this.seqOf.clear();
    for (const r of rows) this.seqOf.set(r.change.change_id, r.seq);
    this.nextSeq = rows.length ? rows[rows.length - 1].seq + 1 : 1;
    return {
      entities: entities.result as StoredEntity[],
      outbox: rows.map((r) => r.change),
      lastSyncAt: (lastSyncAt.result as string | null | undefined) ?? null,
    };
  }

  async write(w: StorageWrite): Promise<void> {
    const db = await this.open();
    const tx = db.transaction([ENTITIES, OUTBOX, META], 'readwrite', { durability: 'strict' });
    const finished = done(tx);
    const removed = (w.deleteOutbox ?? []).filter((id) => this.seqOf.has(id));
    const added: [string, number][] = [];
    try {
      const entities = tx.objectStore(ENTITIES);
      const outbox = tx.objectStore(OUTBOX);
      if (w.clearEntities) entities.clear();
      for (const key of w.deleteEntities ?? []) entities.delete(key);
      for (const e of w.putEntities ?? []) entities.put(e);
      for (const id of removed) outbox.delete(this.seqOf.get(id));
      for (const change of w.putOutbox ?? []) {
        const seq = this.seqOf.get(change.change_id) ?? this.nextSeq++;
        outbox.put({ seq, change } satisfies OutboxRow);
        added.push([change.change_id, seq]);
      }
      if (w.lastSyncAt !== undefined) tx.objectStore(META).put(w.lastSyncAt, 'lastSyncAt');
    } catch (err) {
      // A request refused synchronously (a bad key, a value that cannot be cloned) would
      // otherwise let the requests before it commit: all or nothing.
      tx.abort();
      await finished.catch(() => undefined);
      throw err;
    }
    await finished;
    for (const id of removed) this.seqOf.delete(id);
    for (const [id, seq] of added) this.seqOf.set(id, seq);
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    if (db) (await db).close();
  }

  private open(): Promise<Db> {
    this.db ??= new Promise<Db>((resolve, reject) => {
      const factory = this.opts.indexedDB ?? (globalThis as unknown as { indexedDB?: IDBFactoryLike }).indexedDB;
      if (!factory) return reject(new Error('IndexedDbStorage: no indexedDB on this platform'));
      const req = factory.open(this.opts.name ?? 'delta-sync', 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(ENTITIES)) db.createObjectStore(ENTITIES, { keyPath: ['entity_type', 'entity_id'] });
        if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: 'seq' });
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('IndexedDbStorage: database blocked by another connection'));
    });
    return this.db;
  }
}

function done(tx: Tx): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}
