import { LocalStore } from './local-store.js';
import { CREATE_DEFAULTS } from './local-view.js';
import { MemoryStorage } from './memory-storage.js';
import { StoredState } from './storage.js';
import { OutgoingChange } from './types.js';

/** Storage whose next load() waits until released: a tab reading while this one writes. */
class HeldLoadStorage extends MemoryStorage {
  hold: Promise<void> | null = null;
  override async load(): Promise<StoredState> {
    const state = await super.load();
    await this.hold;
    return state;
  }
}

const change = (id: string, entity: string, action: OutgoingChange['action'] = 'create', data = { title: id }): OutgoingChange => ({
  change_id: id,
  entity_type: 'task',
  entity_id: entity,
  action,
  ...(action === 'delete' ? {} : { data }),
  version: 0,
  client_timestamp: '2025-01-01T00:00:00.000Z',
});
const ids = (store: LocalStore) => store.outbox.map((c) => c.change_id);

describe('LocalStore.refresh (tabs on one storage)', () => {
  it("a follower takes the stored outbox and replica: another tab's changes in, answered ones out", async () => {
    const storage = new MemoryStorage();
    const [leader, follower] = [new LocalStore(storage, CREATE_DEFAULTS), new LocalStore(storage, CREATE_DEFAULTS)];
    await Promise.all([leader.load(), follower.load()]);
    follower.stopMerging();
    await follower.append(change('f1', 'a'));
    await leader.refresh(false);
    expect(ids(leader)).toEqual(['f1']);
    // f1 came from another tab: the leader never rewrites it, its own edit is a change of its own.
    await leader.append(change('l1', 'a', 'update', { title: 'leader' }));
    expect(ids(leader)).toEqual(['f1', 'l1']);
    await storage.write({
      deleteOutbox: ['f1'],
      putEntities: [{ entity_type: 'task', entity_id: 'a', version: 1, data: { title: 'f1' } }],
      lastSyncAt: 'w1',
    });
    const before = await follower.refresh(true);
    expect(ids(follower)).toEqual(['l1']);
    expect([...before.keys()]).toEqual(['task\u0000a']);
    expect(follower.view('task\u0000a')).toMatchObject({ version: 1, data: { title: 'leader' }, pending: true });
    expect(follower.lastSyncAt).toBe('w1');
  });

  it('an own edit made while the stored state was being read stays; a create it cancelled meanwhile does not come back', async () => {
    const storage = new HeldLoadStorage();
    const store = new LocalStore(storage, CREATE_DEFAULTS);
    await store.load();
    await store.append(change('gone', 'x'));
    let release!: () => void;
    storage.hold = new Promise((r) => (release = r));
    const refreshed = store.refresh(true);
    await new Promise((r) => setTimeout(r, 5));
    // Made after the read started: the stored state it returns has 'gone' and lacks 'new'.
    const appended = store.append(change('new', 'y'));
    const cancelled = store.append(change('del', 'x', 'delete'));
    storage.hold = null;
    release();
    await Promise.all([refreshed, appended, cancelled]);
    expect(ids(store)).toEqual(['new']);
    expect((await storage.load()).outbox.map((c) => c.change_id)).toEqual(['new']);
  });
});
