import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { connectWs, readyWs } from '../support/realtime-clients';
import { appWithFamily, closeWithin, OTHER_ADDRESS, trackedSockets } from '../support/realtime-limits';

/** PROTOCOL 2.13 through real sockets: what one WebSocket client may cost the others. */
describe('realtime limits (PROTOCOL 2.13, WebSocket)', () => {
  const track = trackedSockets();

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
});
