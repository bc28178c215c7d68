import { DEFAULT_RETRY, StatusEvent } from '@delta-sync/client';
import { Exchange, recordingFetch, sdkClient, serverState, switchableWebSocket } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The outbox is sent whenever it holds something and the server may be reachable (issue
 * 24): edits made offline in live mode reach the server once the network is back, with
 * no other writer to poke the device and no call to sync().
 */
describe('client SDK resumes on its own', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  it('offline edits in live mode: network back, the outbox is empty within 10 s without sync()', async () => {
    const f = await createFamily(t);
    const net = { offline: false };
    const log: Exchange[] = [];
    const ws = switchableWebSocket(net);
    // The default retry policy, as an app has it: no shortened backoffs.
    const client = await sdkClient(t, f, 'resume-phone', {
      fetch: recordingFetch(log, net),
      WebSocket: ws.WebSocket,
      retry: DEFAULT_RETRY,
    });
    const statuses: StatusEvent[] = [];
    client.on('status', (s) => statuses.push(s));
    client.on('error', () => undefined);
    try {
      client.live(true);
      for (let i = 0; i < 250 && client.lastSyncAt === null; i++) await new Promise((r) => setTimeout(r, 20));
      expect(client.lastSyncAt).not.toBeNull();

      net.offline = true;
      ws.cut();
      for (let i = 0; i < 5; i++) await client.create('task', `off-${i}`, { title: `offline ${i}` });
      await client.update('task', 'off-0', { title: 'edited offline' });
      await new Promise((r) => setTimeout(r, 2000));
      expect(client.pending().length).toBeGreaterThan(0);
      expect(log.some((e) => e.status === 'offline')).toBe(true);

      net.offline = false;
      const backAt = Date.now();
      for (; client.pending().length > 0 && Date.now() - backAt < 10_000;) await new Promise((r) => setTimeout(r, 20));
      const took = Date.now() - backAt;
      expect(client.pending()).toEqual([]);
      expect(took).toBeLessThan(10_000);
      // Measured for the report: seconds from network back to an empty outbox.
      process.stdout.write(`resume: outbox empty ${took} ms after the network came back\n`);
      const server = await serverState(t, f.familyId);
      expect(Object.keys(server).sort()).toEqual(['task:off-0', 'task:off-1', 'task:off-2', 'task:off-3', 'task:off-4']);
      expect(server['task:off-0'].data).toMatchObject({ title: 'edited offline' });
    } finally {
      await client.stop();
    }
  });
});
