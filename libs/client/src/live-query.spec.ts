import { MemoryStorage } from './memory-storage.js';
import { SyncClient } from './sync-client.js';
import { ServerChange } from './types.js';
import { pagedServer, serverTask } from './fake-server.test-helpers.js';

async function client(pages: ServerChange[][] = []) {
  const c = new SyncClient({
    baseUrl: 'http://127.0.0.1:1',
    deviceId: 'd',
    getToken: () => 't',
    storage: new MemoryStorage(),
    fetch: pagedServer(pages).fetch,
    logger: null,
    tabs: false,
  });
  return c;
}

describe('live queries', () => {
  it('is empty before start and fills (one notification) when the replica loads', async () => {
    const c = await client();
    const q = c.query('task', { where: { status: 'open' } });
    const seen: number[] = [];
    q.subscribe((rows) => seen.push(rows.length));
    expect(q.current).toEqual([]);
    await c.start();
    await c.create('task', 'a', { title: 'a' });
    expect(q.current.map((e) => e.id)).toEqual(['a']);
    expect(seen).toEqual([1]);
    await c.stop();
  });

  it('keeps `current` (same array) when an unrelated entity changes, and tells no listener', async () => {
    const c = await client();
    await c.start();
    await c.create('task', 'a', { title: 'a' });
    await c.create('task', 'b', { title: 'b', status: 'done' });
    const q = c.query('task', { where: { status: 'open' }, orderBy: 'title' });
    const calls: unknown[] = [];
    q.subscribe((rows) => calls.push(rows));
    const before = q.current;
    expect(Object.isFrozen(before)).toBe(true);
    await c.update('task', 'b', { title: 'bb' }); // done: not in the result
    await c.create('event', 'e', { title: 'party', start: '2025-01-01' });
    await c.create('task', 'z', { title: 'z', status: 'done' });
    expect(q.current).toBe(before);
    expect(calls).toHaveLength(0);
    await c.update('task', 'a', { title: 'a2' });
    expect(calls).toHaveLength(1);
    expect(q.current).not.toBe(before);
    expect(q.current[0].data.title).toBe('a2');
    expect(q.current[0].pending).toBe(true);
    await c.stop();
  });

  it('notifies once per sync page that changes the result, not per entity, never for a page without a match', async () => {
    const pages = [
      Array.from({ length: 40 }, (_, i) => serverTask(`p1-${i}`, { points: i })),
      Array.from({ length: 40 }, (_, i) => serverTask(`p2-${i}`, { status: 'done' })),
      Array.from({ length: 40 }, (_, i) => serverTask(`p3-${i}`, { points: 100 + i })),
    ];
    const c = await client(pages);
    await c.start();
    const q = c.query('task', { where: { status: 'open' }, orderBy: { field: 'points', desc: true }, limit: 10 });
    const lengths: number[] = [];
    const unsubscribe = q.subscribe((rows) => lengths.push(rows.length));
    const changes: string[] = [];
    c.on('change', (e) => changes.push(e.entity_id));
    await c.sync();
    expect(changes).toHaveLength(120);
    expect(lengths).toEqual([10, 10]);
    expect(q.current.map((e) => e.data.points)).toEqual([139, 138, 137, 136, 135, 134, 133, 132, 131, 130]);
    unsubscribe();
    await c.stop();
  });

  it('mutate resolves with the outcome once a sync has answered the change', async () => {
    const c = await client();
    await c.start();
    const outcome = c.mutate('create', 'task', 'm', { title: 'mine' });
    await new Promise((r) => setTimeout(r, 5));
    await c.sync();
    await expect(outcome).resolves.toMatchObject({ entity_id: 'm', action: 'create', status: 'applied' });
    await c.create('task', 'gone', { title: 'never sent' });
    await expect(c.mutate('delete', 'task', 'gone')).resolves.toBeNull();
    await c.stop();
  });
});
