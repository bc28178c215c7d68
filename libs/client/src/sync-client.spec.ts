import { deltaAnswer } from './fake-server.test-helpers.js';
import { MemoryStorage } from './memory-storage.js';
import { FetchLike } from './platform.js';
import { StorageFullError, StorageWrite } from './storage.js';
import { SyncClient } from './sync-client.js';
import { DeltaRequest, OutgoingChange } from './types.js';

/** Storage whose writes wait until released, to see what resolves before they land. */
class SlowStorage extends MemoryStorage {
  readonly held: (() => void)[] = [];
  override async write(w: StorageWrite): Promise<void> {
    await new Promise<void>((release) => this.held.push(release));
    return super.write(w);
  }
}

const client = (storage = new MemoryStorage()) =>
  new SyncClient({ baseUrl: 'http://127.0.0.1:1', deviceId: 'd1', getToken: () => 't', storage, retry: { maxAttempts: 1 }, logger: null });

describe('SyncClient (local side)', () => {
  it('create resolves only once the outbox holding it is stored', async () => {
    const storage = new SlowStorage();
    const c = client(storage);
    await c.start();
    let resolved = false;
    const done = c.create('task', 't1', { title: 'a' }).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(resolved).toBe(false);
    expect((await storage.load()).outbox).toEqual([]);
    storage.held.shift()!();
    await done;
    expect((await storage.load()).outbox.map((ch) => [ch.entity_id, ch.action, typeof ch.change_id])).toEqual([['t1', 'create', 'string']]);
  });

  it('queued changes of one task carry consecutive versions; get() shows them applied with the create defaults', async () => {
    const c = client();
    await c.start();
    await c.create('task', 't1', { title: 'a' });
    await c.sync().catch(() => undefined); // sent (the answer lost): never merged into
    await c.update('task', 't1', { title: 'b' });
    await c.sync().catch(() => undefined);
    await c.update('task', 't1', { status: 'done' });
    await c.create('event', 'e1', { title: 'party', start: '2025-01-01' });
    expect(c.pending().map((ch) => [ch.entity_id, ch.action, ch.version])).toEqual([
      ['t1', 'create', 0],
      ['t1', 'update', 1],
      ['t1', 'update', 2],
      ['e1', 'create', undefined],
    ]);
    expect(new Set(c.pending().map((ch) => ch.change_id)).size).toBe(4);
    expect(c.get('task', 't1')).toEqual({
      id: 't1',
      version: 0,
      pending: true,
      data: { title: 'b', status: 'done', desc: null, assignees: [], due: null, points: 0, completedAt: null },
    });
    await c.delete('task', 't1');
    expect(c.get('task', 't1')).toBeUndefined();
    expect(c.list('event').map((e) => e.data.title)).toEqual(['party']);
    await c.stop();
  });

  it('pending edits never sent merge: create + updates is one create; create then delete of a new id sends nothing', async () => {
    const storage = new MemoryStorage();
    const c = client(storage);
    await c.start();
    await c.create('task', 't1', { title: 'a', points: 1 });
    for (let i = 0; i < 100; i++) await c.update('task', 't1', { title: `title ${i}` });
    await c.create('event', 'e1', { title: 'party', start: '2025-01-01' });
    await c.update('event', 'e1', { title: 'party!' });
    await c.create('task', 'gone', { title: 'never sent' });
    await c.delete('task', 'gone');
    const pending = c.pending();
    expect(pending.map((ch) => [ch.entity_id, ch.action, ch.version, ch.data])).toEqual([
      ['t1', 'create', 0, { title: 'title 99', points: 1 }],
      ['e1', 'create', undefined, { title: 'party!', start: '2025-01-01' }],
    ]);
    expect((await storage.load()).outbox).toEqual(pending);
    expect(c.get('task', 'gone')).toBeUndefined();
    // After a restart every stored change counts as possibly sent: a new edit is a new change.
    await c.stop();
    const again = client(storage);
    await again.start();
    await again.update('task', 't1', { title: 'after restart' });
    expect(again.pending().map((ch) => [ch.entity_id, ch.action, ch.version])).toEqual([
      ['t1', 'create', 0],
      ['e1', 'create', undefined],
      ['t1', 'update', 1],
    ]);
    await again.stop();
  });

  it('refuses what the server would refuse for the whole request, and updates of unknown ids', async () => {
    const c = client();
    await c.start();
    await expect(c.create('task', 'x'.repeat(129), { title: 'a' })).rejects.toThrow('entity_id');
    await expect(c.create('task', 'bad\u0000id', { title: 'a' })).rejects.toThrow('NUL');
    await expect(c.update('task', 'nope', { title: 'a' })).rejects.toThrow('does not exist');
    expect(c.pending()).toEqual([]);
  });

  it('a failed round rejects, emits one error event and keeps the outbox', async () => {
    const c = client();
    await c.start();
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await c.create('task', 't1', { title: 'a' });
    await expect(c.sync()).rejects.toThrow('network error');
    expect(errors).toHaveLength(1);
    expect(c.pending()).toHaveLength(1);
    await c.stop();
  });
});

/** A fetch answering like the server would for creates applied as sent, or failing while `offline`. */
function scriptedServer() {
  const state = { offline: true, requests: 0, changes: [] as OutgoingChange[][] };
  const fetch: FetchLike = async (_url, init) => {
    state.requests += 1;
    if (state.offline) throw new TypeError('fetch failed (offline)');
    const req = JSON.parse(init.body as string) as DeltaRequest & { changes: OutgoingChange[] };
    state.changes.push(req.changes);
    const body = deltaAnswer(req.changes, [], 0);
    return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify(body) };
  };
  return { state, fetch };
}

const until = async (cond: () => boolean, ms = 2000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 5));
  return cond();
};

describe('SyncClient resumes on its own', () => {
  const resumable = (fetch: FetchLike) =>
    new SyncClient({
      baseUrl: 'http://x',
      deviceId: 'd1',
      getToken: () => 't',
      logger: null,
      fetch,
      retry: { baseMs: 10, maxMs: 40, maxAttempts: 2 },
    });

  it('after failed rounds, a backoff timer keeps trying while changes wait, past maxAttempts, until the outbox is empty', async () => {
    const server = scriptedServer();
    const c = resumable(server.fetch);
    await c.start();
    await c.create('task', 't1', { title: 'a' });
    await expect(c.sync()).rejects.toThrow('offline');
    expect(await until(() => server.state.requests >= 8)).toBe(true);
    server.state.offline = false;
    expect(await until(() => c.pending().length === 0)).toBe(true);
    expect(server.state.changes.flat().map((ch) => ch.entity_id)).toEqual(['t1']);
    const after = server.state.requests;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.state.requests).toBe(after);
    await c.stop();
  });

  it('the browser `online` event sends the outbox at once', async () => {
    const server = scriptedServer();
    const listeners = new Map<string, () => void>();
    const g = globalThis as unknown as { addEventListener?: unknown; removeEventListener?: unknown };
    g.addEventListener = (type: string, l: () => void) => listeners.set(type, l);
    g.removeEventListener = (type: string) => listeners.delete(type);
    try {
      const c = new SyncClient({
        baseUrl: 'http://x',
        deviceId: 'd1',
        getToken: () => 't',
        fetch: server.fetch,
        retry: { baseMs: 60_000, maxMs: 60_000, maxAttempts: 1 },
      });
      await c.start();
      await c.create('task', 't1', { title: 'a' });
      await expect(c.sync()).rejects.toThrow('offline');
      server.state.offline = false;
      listeners.get('online')!();
      expect(await until(() => c.pending().length === 0, 500)).toBe(true);
      await c.stop();
      expect(listeners.has('online')).toBe(false);
    } finally {
      delete g.addEventListener;
      delete g.removeEventListener;
    }
  });

  it('honours Retry-After before the next round', async () => {
    let calls = 0;
    const at: number[] = [];
    const inner = scriptedServer();
    inner.state.offline = false;
    const fetch: FetchLike = async (url, init) => {
      at.push(Date.now());
      if (calls++ === 0) return { status: 503, headers: { get: (n) => (n === 'retry-after' ? '0.3' : null) }, text: async () => '{}' };
      return inner.fetch(url, init);
    };
    const c = new SyncClient({
      baseUrl: 'http://x',
      deviceId: 'd1',
      getToken: () => 't',
      fetch,
      retry: { baseMs: 1, maxMs: 1, maxAttempts: 1 },
    });
    await c.start();
    await c.create('task', 't1', { title: 'a' });
    await expect(c.sync()).rejects.toThrow('503');
    expect(await until(() => c.pending().length === 0)).toBe(true);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(290);
    await c.stop();
  });
});

describe('SyncClient reads are immutable snapshots', () => {
  it('a caller mutating a returned object changes nothing stored; the object stays the same while the entity is unchanged', async () => {
    const storage = new MemoryStorage();
    const c = client(storage);
    await c.start();
    const assignees = ['bob'];
    await c.create('task', 't1', { title: 'a', assignees });
    assignees.push('mallory');
    const got = c.get('task', 't1')!;
    expect(Object.isFrozen(got) && Object.isFrozen(got.data) && Object.isFrozen(got.data.assignees)).toBe(true);
    expect(() => {
      (got.data as { title: string }).title = 'x';
    }).toThrow(TypeError);
    expect(() => (got.data.assignees as string[]).push('eve')).toThrow(TypeError);
    const listed = c.list('task')[0];
    expect(listed).toBe(got);
    expect(c.get('task', 't1')).toBe(got);
    c.pending()[0].data!.title = 'through pending()';
    expect(c.get('task', 't1')!.data).toMatchObject({ title: 'a', assignees: ['bob'] });
    expect((await storage.load()).outbox[0].data).toEqual({ title: 'a', assignees: ['bob'] });

    await c.update('task', 't1', { title: 'b' });
    const next = c.get('task', 't1')!;
    expect(next).not.toBe(got);
    expect(next.data.title).toBe('b');
    expect(got.data.title).toBe('a');
    await c.stop();
  });
});

describe('SyncClient diagnostics', () => {
  it('a throwing listener is reported to the logger, the other listeners still run; levels below logLevel are dropped', async () => {
    const lines: string[] = [];
    const logger = { debug: (m: string) => lines.push(`debug ${m}`), error: (m: string) => lines.push(`error ${m}`) };
    const c = new SyncClient({ baseUrl: 'http://x', deviceId: 'd1', getToken: () => 't', logger, logLevel: 'warn' });
    await c.start();
    let second = 0;
    c.on('change', () => {
      throw new Error('app bug');
    });
    c.on('change', () => (second += 1));
    await c.create('task', 't1', { title: 'a' });
    expect(second).toBe(1);
    expect(lines).toEqual(["error delta-sync: a 'change' listener threw"]);
    expect(c.changes().map((s) => [s.entity_id, s.status])).toEqual([['t1', 'pending']]);
    await c.stop();
  });
});

describe('SyncClient and full storage', () => {
  class FullStorage extends MemoryStorage {
    full = true;
    override async write(w: StorageWrite): Promise<void> {
      if (this.full) throw new StorageFullError(Object.assign(new Error('quota'), { name: 'QuotaExceededError' }));
      return super.write(w);
    }
  }

  it('a quota error rejects the edit with a StorageFullError and shows status `blocked` until a write lands again', async () => {
    const storage = new FullStorage();
    const c = client(storage);
    const states: string[] = [];
    c.on('status', (s) => states.push(s.state));
    await c.start();
    await expect(c.create('task', 't1', { title: 'a' })).rejects.toBeInstanceOf(StorageFullError);
    expect(c.status().state).toBe('blocked');
    expect(c.pending()).toEqual([]);
    storage.full = false;
    await c.create('task', 't1', { title: 'a' });
    expect(c.status().state).toBe('idle');
    expect(states).toContain('blocked');
    await c.stop();
  });
});
