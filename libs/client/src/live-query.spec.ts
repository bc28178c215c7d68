import { MemoryStorage } from './memory-storage.js';
import { FetchLike } from './platform.js';
import { SyncClient } from './sync-client.js';
import { DeltaRequest, DeltaResponse, OutgoingChange, ServerChange } from './types.js';

/** A fetch that answers each pull with the next scripted page of server changes (and applies pushes as sent). */
function pagedServer(pages: ServerChange[][]) {
  let n = 0;
  const fetch: FetchLike = async (_url, init) => {
    const req = JSON.parse(init.body as string) as DeltaRequest & { changes: OutgoingChange[] };
    const page = pages[n] ?? [];
    n += 1;
    const body: DeltaResponse = {
      server_changes: page,
      conflicts: [],
      errors: [],
      applied: req.changes.map((c) => ({ entity_type: c.entity_type, entity_id: c.entity_id, version: (c.version ?? 0) + 1 })),
      last_sync_at: `2025-01-01T00:00:0${n}.000000Z`,
      has_more: n < pages.length,
      resync_required: false,
      success: true,
      applied_count: req.changes.length,
      error_count: 0,
    };
    return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify(body) };
  };
  return fetch;
}

const task = (id: string, data: Record<string, unknown>, version = 1): ServerChange => ({
  entity_type: 'task',
  entity_id: id,
  action: 'create',
  data: { title: id, desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null, ...data },
  version,
  client_timestamp: '2025-01-01T00:00:00Z',
  server_timestamp: '2025-01-01T00:00:00Z',
});

async function client(pages: ServerChange[][] = []) {
  const c = new SyncClient({
    baseUrl: 'http://127.0.0.1:1',
    deviceId: 'd',
    getToken: () => 't',
    storage: new MemoryStorage(),
    fetch: pagedServer(pages),
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
      Array.from({ length: 40 }, (_, i) => task(`p1-${i}`, { points: i })),
      Array.from({ length: 40 }, (_, i) => task(`p2-${i}`, { status: 'done' })),
      Array.from({ length: 40 }, (_, i) => task(`p3-${i}`, { points: 100 + i })),
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
