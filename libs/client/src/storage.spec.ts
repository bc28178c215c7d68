import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { IndexedDbStorage } from './indexeddb-storage.js';
import { MemoryStorage } from './memory-storage.js';
import { StorageFullError, SyncStorage } from './storage.js';
import { OutgoingChange, StoredEntity } from './types.js';

const change = (id: string): OutgoingChange => ({
  change_id: id,
  entity_type: 'task',
  entity_id: `t-${id}`,
  action: 'create',
  data: { title: id },
  version: 0,
  client_timestamp: '2025-11-11T12:00:00.000Z',
});
const entity = (id: string, version = 1): StoredEntity => ({ entity_type: 'task', entity_id: id, version, data: { title: id } });

// One contract, both implementations. `reopen` gives a fresh instance over the same data (an app restart).
describe.each([
  [
    'MemoryStorage',
    () => {
      const s = new MemoryStorage();
      return { storage: s as SyncStorage, reopen: () => s as SyncStorage };
    },
  ],
  [
    'IndexedDbStorage (fake-indexeddb)',
    () => {
      const indexedDB = new IDBFactory();
      return {
        storage: new IndexedDbStorage({ indexedDB }) as SyncStorage,
        reopen: () => new IndexedDbStorage({ indexedDB }) as SyncStorage,
      };
    },
  ],
])('%s', (_name, make) => {
  it('starts empty', async () => {
    const { storage } = make();
    expect(await storage.load()).toEqual({ entities: [], outbox: [], lastSyncAt: null, lanes: {}, changes: [] });
  });

  it('keeps the outbox in order across restarts, replaces a known change_id in place, removes answered ones', async () => {
    const { storage, reopen } = make();
    await storage.write({ putOutbox: [change('a'), change('b')] });
    await storage.write({ putOutbox: [change('c')] });
    await storage.write({ putOutbox: [{ ...change('b'), data: { title: 'b2' } }] });
    await storage.close?.();
    const again = reopen();
    let state = await again.load();
    expect(state.outbox.map((c) => [c.change_id, c.data?.title])).toEqual([
      ['a', 'a'],
      ['b', 'b2'],
      ['c', 'c'],
    ]);
    await again.write({ deleteOutbox: ['a', 'c'], putOutbox: [change('d')] });
    state = await again.load();
    expect(state.outbox.map((c) => c.change_id)).toEqual(['b', 'd']);
    await again.close?.();
  });

  it('a page write: entities, outbox removal and watermark together; a resync clears entities and keeps the outbox', async () => {
    const { storage } = make();
    await storage.write({ putOutbox: [change('a'), change('b')] });
    await storage.write({ putEntities: [entity('x'), entity('y')], deleteOutbox: ['a'], lastSyncAt: 'w1' });
    await storage.write({ deleteEntities: [['task', 'x']], putEntities: [entity('y', 2)], lastSyncAt: 'w2', lanes: { 0: 'w5' } });
    let state = await storage.load();
    expect(state).toEqual({ entities: [entity('y', 2)], outbox: [change('b')], lastSyncAt: 'w2', lanes: { 0: 'w5' }, changes: [] });
    await storage.write({ clearEntities: true, putEntities: [entity('z')], lastSyncAt: 'w3', lanes: {} });
    state = await storage.load();
    expect(state).toEqual({ entities: [entity('z')], outbox: [change('b')], lastSyncAt: 'w3', lanes: {}, changes: [] });
    await storage.close?.();
  });

  it('values are copies: changing what was written or loaded does not change the store', async () => {
    const { storage } = make();
    const e = entity('x');
    await storage.write({ putEntities: [e] });
    e.data.title = 'mutated';
    const loaded = await storage.load();
    loaded.entities[0].data.title = 'mutated too';
    expect((await storage.load()).entities[0].data.title).toBe('x');
    await storage.close?.();
  });
});

describe('IndexedDbStorage atomicity', () => {
  it('a write that fails in the middle stores none of it (no watermark without its page)', async () => {
    const indexedDB = new IDBFactory();
    const storage = new IndexedDbStorage({ indexedDB });
    await storage.write({ putEntities: [entity('x')], lastSyncAt: 'w1', lanes: { 2: 'w1b' } });
    // An entity without its key path fails its put, which aborts the transaction.
    const broken = { entity_type: 'task', version: 1, data: {} } as unknown as StoredEntity;
    await expect(storage.write({ putEntities: [entity('y'), broken], lastSyncAt: 'w2', lanes: { 2: 'w3' } })).rejects.toBeDefined();
    expect(await storage.load()).toEqual({ entities: [entity('x')], outbox: [], lastSyncAt: 'w1', lanes: { 2: 'w1b' }, changes: [] });
    await storage.close();
  });
});

describe('IndexedDbStorage shared by tabs, and its schema', () => {
  it('two instances on one database (two tabs): appends from both are kept; removing one tab’s change leaves the other’s', async () => {
    const indexedDB = new IDBFactory();
    const tabA = new IndexedDbStorage({ indexedDB });
    const tabB = new IndexedDbStorage({ indexedDB });
    await tabA.load();
    await tabB.load();
    await tabA.write({ putOutbox: [change('a1')] });
    await tabB.write({ putOutbox: [change('b1')] });
    await tabA.write({ putOutbox: [change('a2')] });
    expect((await tabB.load()).outbox.map((c) => c.change_id)).toEqual(['a1', 'b1', 'a2']);
    await tabA.write({ deleteOutbox: ['a1'] });
    await tabB.write({ putOutbox: [{ ...change('a2'), data: { title: 'replaced in place' } }] });
    expect((await tabA.loadOutbox()).map((c) => [c.change_id, c.data?.title])).toEqual([
      ['b1', 'b1'],
      ['a2', 'replaced in place'],
    ]);
    expect(tabA.shared).toBe(tabB.shared);
    await Promise.all([tabA.close(), tabB.close()]);
  });

  it('the leader lease: one owner at a time, renewable, free after release or expiry', async () => {
    const indexedDB = new IDBFactory();
    const [a, b] = [new IndexedDbStorage({ indexedDB }), new IndexedDbStorage({ indexedDB })];
    expect(await Promise.all([a.lease('A', 10_000), b.lease('B', 10_000)])).toEqual([true, false]);
    expect(await a.lease('A', 50)).toBe(true);
    await new Promise((r) => setTimeout(r, 60));
    expect(await b.lease('B', 10_000)).toBe(true);
    expect(await a.lease('A', 10_000)).toBe(false);
    await b.lease('B', 0, true);
    expect(await a.lease('A', 10_000)).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('migrates a version 1 database: the outbox keeps its order, new changes go after it, answered ones go', async () => {
    const indexedDB = new IDBFactory();
    // Version 1 as the SDK wrote it: the outbox keyed by a counter the tab kept.
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open('delta-sync', 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore('entities', { keyPath: ['entity_type', 'entity_id'] }).put(entity('x'));
        const outbox = db.createObjectStore('outbox', { keyPath: 'seq' });
        outbox.put({ seq: 7, change: change('old-2') });
        outbox.put({ seq: 3, change: change('old-1') });
        db.createObjectStore('meta').put('w1', 'lastSyncAt');
      };
      req.onsuccess = () => {
        req.result.close();
        resolve();
      };
      req.onerror = () => reject(req.error);
    });
    const storage = new IndexedDbStorage({ indexedDB });
    expect(await storage.load()).toEqual({
      entities: [entity('x')],
      outbox: [change('old-1'), change('old-2')],
      lastSyncAt: 'w1',
      lanes: {},
      changes: [],
    });
    await storage.write({ putOutbox: [change('new')], deleteOutbox: ['old-1'] });
    expect((await storage.load()).outbox.map((c) => c.change_id)).toEqual(['old-2', 'new']);
    await storage.close();
  });

  it('a newer version opened in another tab closes this connection (onversionchange); this storage then refuses writes', async () => {
    const indexedDB = new IDBFactory();
    let told = 0;
    const storage = new IndexedDbStorage({ indexedDB, onVersionChange: () => (told += 1) });
    await storage.load();
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open('delta-sync', 3);
      req.onsuccess = () => {
        req.result.close();
        resolve();
      };
      req.onerror = () => reject(req.error);
    });
    expect(told).toBe(1);
    await expect(storage.write({ lastSyncAt: 'w' })).rejects.toThrow('upgraded');
  });
});

describe.each([
  ['MemoryStorage', () => new MemoryStorage()],
  ['IndexedDbStorage', () => new IndexedDbStorage({ indexedDB: new IDBFactory() })],
])('%s change statuses', (_name, make) => {
  it('stores, replaces and forgets statuses by change_id, atomically with the page', async () => {
    const storage: SyncStorage = make();
    const at = '2025-01-01T00:00:00.000Z';
    const status = (id: string, s: 'pending' | 'applied') =>
      ({ change_id: id, entity_type: 'task', entity_id: `t-${id}`, action: 'create', status: s, at }) as const;
    await storage.write({ putOutbox: [change('a')], putChanges: [status('a', 'pending'), status('b', 'pending')] });
    await storage.write({ deleteOutbox: ['a'], putChanges: [status('a', 'applied')], deleteChanges: ['b'], lastSyncAt: 'w1' });
    expect((await storage.load()).changes).toEqual([status('a', 'applied')]);
    await storage.close?.();
  });
});

describe('IndexedDbStorage and the browser', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  afterEach(() => {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete (globalThis as { navigator?: unknown }).navigator;
  });

  it('asks navigator.storage.persist() once per database, across restarts', async () => {
    let asked = 0;
    const persist = async () => (asked += 1) > 0;
    Object.defineProperty(globalThis, 'navigator', { value: { storage: { persist } }, configurable: true });
    const indexedDB = new IDBFactory();
    for (let run = 0; run < 3; run++) {
      const storage = new IndexedDbStorage({ indexedDB });
      await storage.load();
      await storage.close();
    }
    expect(asked).toBe(1);
  });

  it('a quota error comes out as a StorageFullError', async () => {
    const indexedDB = new IDBFactory();
    const storage = new IndexedDbStorage({ indexedDB });
    await storage.load();
    const realPut = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw Object.assign(new Error('quota exceeded'), { name: 'QuotaExceededError' });
    };
    try {
      await expect(storage.write({ putEntities: [entity('x')] })).rejects.toBeInstanceOf(StorageFullError);
    } finally {
      IDBObjectStore.prototype.put = realPut;
    }
    await storage.close();
  });
});
