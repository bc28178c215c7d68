import WebSocket from 'ws';
import { ChangeEvent, StatusEvent, SyncClient, WebSocketConstructor } from '@delta-sync/client';
import { sdkClient } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Realtime through the SDK (PROTOCOL 2.7): a client in live mode learns of another device's
 * push from a poke on /sync/ws and pulls it, without its app calling sync().
 * Needs the server's /sync/ws (the realtime issue); on a branch without it this suite fails.
 */
describe('client SDK live mode against the server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  it("another client's push shows in this client's replica within 1 s, without a call to sync()", async () => {
    const f = await createFamily(t, 'alice');
    await f.addMember('bob');
    const writer = await sdkClient(t, f, 'writer-phone');
    const watcher = await sdkClient(t, f, 'watcher-tablet', { user: 'bob', WebSocket: WebSocket as unknown as WebSocketConstructor });
    try {
      await pokedWithin1s(writer, watcher);
    } finally {
      await Promise.all([writer.stop(), watcher.stop()]);
    }
  });

  async function pokedWithin1s(writer: SyncClient, watcher: SyncClient): Promise<void> {
    const statuses: StatusEvent[] = [];
    watcher.on('status', (s) => statuses.push(s));
    watcher.live(true);
    for (let i = 0; i < 250 && !statuses.some((s) => s.live === 'open'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(statuses.some((s) => s.live === 'open')).toBe(true);
    // Let the sync that follows `ready` finish.
    for (let i = 0; i < 250 && watcher.lastSyncAt === null; i++) await new Promise((r) => setTimeout(r, 20));

    const seen = new Promise<ChangeEvent>((resolve) =>
      watcher.on('change', (e) => e.entity_id === 'live-1' && e.origin === 'server' && resolve(e)),
    );
    await writer.create('task', 'live-1', { title: 'from the phone' });
    await writer.sync();
    const pushedAt = Date.now();
    const deadline = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 1000));
    const outcome = await Promise.race([seen, deadline]);
    expect(outcome).not.toBe('late');
    expect(Date.now() - pushedAt).toBeLessThanOrEqual(1000);
    expect(watcher.get('task', 'live-1')).toMatchObject({ version: 1, data: { title: 'from the phone' } });
  }
});
