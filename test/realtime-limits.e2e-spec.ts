import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { startTestApp, TestApp } from './support/test-app';
import { createFamily, FamilyFixture } from './support/sync-fixtures';
import { connectWs, readyWs, WsClient } from './support/realtime-clients';

/** Another loopback address: a client that is not the one flooding from 127.0.0.1. */
const OTHER_ADDRESS = '127.0.0.2';

/** The close, or `open` if the socket is still open after `ms`. */
const closeWithin = (client: WsClient, ms: number) =>
  Promise.race([client.closed.then(({ code, reason }) => `${code} ${reason}`), sleep(ms, 'open', { ref: false })]);

// A full collection before each reading, so that garbage of the flood (parsed pings, written
// frames) is not counted: what stays is what the server keeps.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const memoryMb = () => {
  gc();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss: rss / 2 ** 20, kept: (heapUsed + external) / 2 ** 20 };
};

/** For one describe block: an app with these settings and alice's family. */
function appWithFamily(env: Record<string, string> = {}): { t: TestApp; f: FamilyFixture } {
  const app = {} as { t: TestApp; f: FamilyFixture };
  beforeAll(async () => {
    app.t = await startTestApp(env);
    app.f = await createFamily(app.t, 'alice');
  });
  afterAll(async () => {
    await app.t?.close();
  });
  return app;
}

/** PROTOCOL 2.13 through real sockets: what one WebSocket client may cost the others. */
describe('realtime limits (PROTOCOL 2.13, WebSocket)', () => {
  const open: WsClient[] = [];
  const track = (client: WsClient): WsClient => (open.push(client), client);
  afterEach(() => {
    for (const client of open.splice(0)) client.socket.terminate();
  });

  describe('connections waiting for their auth message (SYNC_WS_MAX_PENDING=20)', () => {
    const app = appWithFamily({ SYNC_MAX_STREAMS_PER_USER: '50' });

    it('closes the 21st and later of 200 idle upgrades from one address with 4429; a real client still connects', async () => {
      const { t, f } = app;
      const started = Date.now();
      const idle = await Promise.all(Array.from({ length: 200 }, async () => track(await connectWs(t))));
      const outcomes = await Promise.all(idle.map((c) => closeWithin(c, 2_000)));
      process.stdout.write(`200 idle upgrades from one address: all opened and 180 refused in ${Date.now() - started} ms\n`);
      const counts = outcomes.reduce<Record<string, number>>((n, o) => ({ ...n, [o]: (n[o] ?? 0) + 1 }), {});
      expect(counts).toEqual({ open: 20, '4429 more than 20 connections of this address waiting to authenticate': 180 });

      // Another address is not affected: it connects, authenticates and is served.
      const real = track(await readyWs(t, f.token(), 'real', OTHER_ADDRESS));
      await real.roundTrip();

      // The same address is refused while 20 of its connections wait ...
      expect(await closeWithin(track(await connectWs(t)), 2_000)).toMatch(/^4429 /);
      // ... and gets a place again once one of them authenticated, and once one closed.
      const waiting = idle.filter((_, i) => outcomes[i] === 'open');
      waiting[0].send({ type: 'auth', token: f.token(), device_id: 'was-waiting' });
      await waiting[0].next((m) => m.type === 'ready', 10_000, 'ready');
      track(await readyWs(t, f.token(), 'after-auth'));
      waiting[1].socket.close();
      await waiting[1].closed;
      track(await readyWs(t, f.token(), 'after-close'));
    }, 30_000);
  });

  describe('messages per second', () => {
    const app = appWithFamily();

    it('closes a client sending more than 20 messages a second with 1008; one pinging every second is unaffected', async () => {
      const { t, f } = app;
      const calm = track(await readyWs(t, f.token(), 'calm'));
      const busy = track(await readyWs(t, f.token(), 'busy'));
      // After a second's pause the allowance is whole again: 20 at once are all answered.
      await sleep(1_000);
      for (let i = 0; i < 20; i++) busy.send({ type: 'ping' });
      await busy.next(() => busy.messages.filter((m) => m.type === 'pong').length === 20, 5_000, '20 pongs');
      const flooder = track(await readyWs(t, f.token(), 'flooder'));
      for (let i = 0; i < 21; i++) flooder.send({ type: 'ping' });
      expect(await flooder.closed).toEqual({ code: 1008, reason: 'more than 20 messages per second' });

      // 25 a second kept up is refused too, once the burst allowance is spent.
      const steady = track(await readyWs(t, f.token(), 'steady'));
      const pinger = setInterval(() => steady.socket.readyState === WebSocket.OPEN && steady.send({ type: 'ping' }), 40);
      try {
        expect(await closeWithin(steady, 10_000)).toBe('1008 more than 20 messages per second');
      } finally {
        clearInterval(pinger);
      }

      for (let i = 0; i < 4; i++) {
        await calm.roundTrip();
        await sleep(1_000);
      }
      expect(calm.socket.readyState).toBe(WebSocket.OPEN);
    }, 30_000);
  });

  describe('a client that does not read', () => {
    // Without the message rate limit, so that the queue check alone must stop the pongs.
    const app = appWithFamily({ SYNC_WS_MAX_MESSAGES_PER_SECOND: '0' });

    it('is closed with 1008 once more than 1 MB is queued to it, and the process does not grow', async () => {
      const { t, f } = app;
      const deaf = track(await readyWs(t, f.token(), 'deaf'));
      const tcp = (deaf.socket as unknown as { _socket: Socket })._socket;
      tcp.pause();
      const before = memoryMb();
      const started = Date.now();
      let sent = 0;
      // The kernel takes about 4 MB of pongs (~250,000) before anything queues in the server
      // process; then 1 MB more, and the rest would queue without the limit.
      // Not many more: the server destroys a closed socket whose peer has not answered in 30 s,
      // and the client must read the 1008 before that.
      while (sent < 500_000 && !tcp.destroyed) {
        // One write per batch: thousands of 21-byte segments overflow the server's receive
        // buffer and stall the connection in retransmission back-off.
        tcp.cork();
        for (let i = 0; i < 5_000; i++) deaf.socket.send('{"type":"ping"}');
        tcp.uncork();
        sent += 5_000;
        // Let the server read them: the client's own queue stays small.
        while (tcp.writableLength > 0 && !tcp.destroyed) await sleep(1);
      }
      const after = memoryMb();
      process.stdout.write(
        `not reading: ${sent} pings in ${Date.now() - started} ms, RSS ${before.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MB, ` +
          `heap + external ${before.kept.toFixed(0)} -> ${after.kept.toFixed(0)} MB\n`,
      );
      // 1 MB of 17-byte pongs is ~20 MB of heap in Node's write queue (two buffers and a write
      // request each); without the limit the 250,000 pongs after the kernel's share keep ~80 MB.
      expect(after.kept - before.kept).toBeLessThan(40);
      // RSS is a loose bound: the client shares this process, and the allocator keeps pages of
      // the flood's garbage (measured: +89..157 MB with the limit, +217 MB without).
      expect(after.rss - before.rss).toBeLessThan(200);

      // Reading again, the client finds the pongs that were queued and then the close.
      tcp.resume();
      expect(await closeWithin(deaf, 20_000)).toBe('1008 more than 1 MB queued: the client is not reading');
      const pongs = deaf.messages.filter((m) => m.type === 'pong').length;
      process.stdout.write(`not reading: ${pongs} pongs had been sent before the close\n`);
      expect(pongs).toBeLessThan(sent);
    }, 180_000);
  });
});
