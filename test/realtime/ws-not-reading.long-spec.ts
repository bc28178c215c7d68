import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { readyWs } from '../support/realtime-clients';
import { appWithFamily, closeWithin, memoryMb, trackedSockets } from '../support/realtime-limits';

/**
 * PROTOCOL 2.13, a WebSocket peer that never reads: a long run (npm run test:long), since the
 * kernel's socket buffers take ~4 MB of pongs before anything queues in the server.
 */
describe('realtime limits (PROTOCOL 2.13, WebSocket): a peer that does not read', () => {
  const track = trackedSockets();

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
