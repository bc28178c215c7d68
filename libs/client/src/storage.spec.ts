import { IDBFactory } from 'fake-indexeddb';
import { IndexedDbStorage } from './indexeddb-storage.js';
import { MemoryStorage } from './memory-storage.js';
import { SyncStorage } from './storage.js';
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
    expect(await storage.load()).toEqual({ entities: [], outbox: [], lastSyncAt: null });
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
    await storage.write({ deleteEntities: [['task', 'x']], putEntities: [entity('y', 2)], lastSyncAt: 'w2' });
    let state = await storage.load();
    expect(state).toEqual({ entities: [entity('y', 2)], outbox: [change('b')], lastSyncAt: 'w2' });
    await storage.write({ clearEntities: true, putEntities: [entity('z')], lastSyncAt: 'w3' });
    state = await storage.load();
    expect(state).toEqual({ entities: [entity('z')], outbox: [change('b')], lastSyncAt: 'w3' });
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
    await storage.write({ putEntities: [entity('x')], lastSyncAt: 'w1' });
    // An entity without its key path fails its put, which aborts the transaction.
    const broken = { entity_type: 'task', version: 1, data: {} } as unknown as StoredEntity;
    await expect(storage.write({ putEntities: [entity('y'), broken], lastSyncAt: 'w2' })).rejects.toBeDefined();
    expect(await storage.load()).toEqual({ entities: [entity('x')], outbox: [], lastSyncAt: 'w1' });
    await storage.close();
  });
});
