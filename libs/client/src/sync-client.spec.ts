import { MemoryStorage } from './memory-storage.js';
import { StorageWrite } from './storage.js';
import { SyncClient } from './sync-client.js';

/** Storage whose writes wait until released, to see what resolves before they land. */
class SlowStorage extends MemoryStorage {
  readonly held: (() => void)[] = [];
  override async write(w: StorageWrite): Promise<void> {
    await new Promise<void>((release) => this.held.push(release));
    return super.write(w);
  }
}

const client = (storage = new MemoryStorage()) =>
  new SyncClient({ baseUrl: 'http://127.0.0.1:1', deviceId: 'd1', getToken: () => 't', storage, retry: { maxAttempts: 1 } });

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
    await c.update('task', 't1', { title: 'b' });
    await c.update('task', 't1', { status: 'done' });
    await c.create('event', 'e1', { title: 'party', start: '2025-01-01' });
    await c.update('event', 'e1', { title: 'party!' });
    expect(c.pending().map((ch) => [ch.entity_id, ch.action, ch.version])).toEqual([
      ['t1', 'create', 0],
      ['t1', 'update', 1],
      ['t1', 'update', 2],
      ['e1', 'create', undefined],
      ['e1', 'update', undefined],
    ]);
    expect(new Set(c.pending().map((ch) => ch.change_id)).size).toBe(5);
    expect(c.get('task', 't1')).toEqual({
      id: 't1',
      version: 0,
      pending: true,
      data: { title: 'b', status: 'done', desc: null, assignees: [], due: null, points: 0, completedAt: null },
    });
    await c.delete('task', 't1');
    expect(c.get('task', 't1')).toBeUndefined();
    expect(c.list('event').map((e) => e.data.title)).toEqual(['party!']);
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
