import WebSocket from 'ws';
import { startTestApp, TestApp } from '../support/test-app';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import { connectWs, openSse, readySse, readyWs, WsClient, wsUrl } from '../support/realtime-clients';
import { appWithFamily } from '../support/realtime-limits';

/** PROTOCOL 2.7, the life of a stream: the per-user limit, the close on shutdown and the heartbeat. */
describe('realtime limits and shutdown', () => {
  let c: TestApp;
  let f: FamilyFixture;
  const clients: { close(): void }[] = [];

  beforeAll(async () => {
    c = await startTestApp({ SYNC_MAX_STREAMS_PER_USER: '2' });
    f = await createFamily(c, 'alice');
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await c.db.drop();
  });

  it('refuses streams above SYNC_MAX_STREAMS_PER_USER: 4429 and 429; other users are not affected', async () => {
    clients.push(await readyWs(c, f.token(), 'one'), await readySse(c, f.token(), 'two'));
    const third = await connectWs(c);
    clients.push(third);
    third.send({ type: 'auth', token: f.token(), device_id: 'three' });
    expect((await third.closed).code).toBe(4429);
    const sse = await openSse(c, f.token(), 'four');
    expect(sse).toMatchObject({ status: 429, body: { error: 'too_many_streams' } });
    const bobToken = await f.addMember('bob');
    clients.push(await readyWs(c, bobToken, 'bob-1'));
  });

  it('on shutdown closes streams with 1012 before the HTTP drain', async () => {
    const carol = await f.addMember('carol');
    const ws: WsClient = await readyWs(c, carol, 'carol-1');
    const sse = await readySse(c, carol, 'carol-2');
    const order: string[] = [];
    void ws.closed.then(() => order.push('ws closed'));
    void sse.next((m) => m.type === 'end').then(() => order.push('sse ended'));
    await c.app.close();
    order.push('app closed');
    expect((await ws.closed).code).toBe(1012);
    expect(await sse.next((m) => m.type === 'end')).toMatchObject({ type: 'end', code: 1012 });
    expect(order.at(-1)).toBe('app closed');
    expect(order).toHaveLength(3);
  });
});

describe('WebSocket heartbeat (SYNC_WS_HEARTBEAT_MS)', () => {
  const app = appWithFamily({ SYNC_WS_HEARTBEAT_MS: '200', SYNC_MAX_STREAMS_PER_USER: '1' });

  it('drops a peer that stops answering pings, which frees its stream slot; a live peer stays', async () => {
    const { t: h, f } = app;
    // A peer that never answers protocol pings: a phone gone without a close.
    const silent = new WsClient(new WebSocket(wsUrl(h), { autoPong: false }));
    await new Promise((resolve) => silent.socket.once('open', resolve));
    silent.send({ type: 'auth', token: f.token(), device_id: 'gone' });
    await silent.next((m) => m.type === 'ready', 10_000, 'ready');
    // The limit is 1: a second stream of alice is refused while the silent one counts.
    const refused = await connectWs(h);
    refused.send({ type: 'auth', token: f.token(), device_id: 'second' });
    expect((await refused.closed).code).toBe(4429);

    // Terminated without a close frame (1006 on this side) after a missed ping.
    expect((await silent.closed).code).toBe(1006);
    const live = await readyWs(h, f.token(), 'live');
    try {
      // Several heartbeats later the answering peer is still there and served.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await live.roundTrip();
      expect(live.socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      live.close();
    }
  });
});
