import { sign } from 'jsonwebtoken';
import { Client, Notification } from 'pg';
import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import WebSocket from 'ws';
import { connectWs, openSse, readySse, readyWs, WsClient, wsUrl } from '../support/realtime-clients';

/**
 * PROTOCOL 2.7 through real sockets: two instances (A and B) on one database, as two Nest apps
 * in this process; a commit on A reaches B only through PostgreSQL NOTIFY.
 */
describe('realtime pokes across instances', () => {
  let a: TestApp;
  let b: TestApp;
  let f: FamilyFixture;
  let other: FamilyFixture;
  const open: { close(): void }[] = [];
  const track = <T extends { close(): void }>(client: T): T => (open.push(client), client);

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({}, { db: a.db });
    f = await createFamily(a, 'alice');
    other = await createFamily(a, 'olga');
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  const push = (fixture: FamilyFixture, deviceId: string, entityId: string, user = 'alice') =>
    syncOk(a, fixture.token(user), { device_id: deviceId, changes: [change({ entity_id: entityId, data: { title: entityId } })] });

  it('a push through A pokes a WebSocket and an SSE stream on B with its position, not the pushing device, not another family', async () => {
    const ws = track(await readyWs(b, f.token(), 'tablet'));
    const sse = track(await readySse(b, f.token(), 'laptop'));
    const pusher = track(await readyWs(b, f.token(), 'phone'));
    const stranger = track(await readyWs(b, other.token('olga'), 'tablet'));

    const started = Date.now();
    const pushed = await push(f, 'phone', 'task-poke');
    const [wsPoke, ssePoke] = await Promise.all([
      ws.next((m) => m.type === 'poke' && m.last_changed_at === pushed.last_sync_at),
      sse.next((m) => m.type === 'poke' && m.last_changed_at === pushed.last_sync_at),
    ]);
    expect(wsPoke).toEqual({ type: 'poke', last_changed_at: pushed.last_sync_at });
    expect(ssePoke).toEqual({ type: 'poke', last_changed_at: pushed.last_sync_at });
    process.stdout.write(`push answer -> pokes on B: ${Date.now() - started} ms (including the push)\n`);

    // One dispatch writes to every stream of the family: anything meant for the pusher was
    // written before the pong that answers its ping.
    await pusher.roundTrip();
    await stranger.roundTrip();
    expect(pusher.pokes()).toEqual([]);
    expect(stranger.pokes()).toEqual([]);
    // The poke is a position the device may pull from: the pull after it is empty.
    const pulled = await syncOk(b, f.token(), { device_id: 'tablet', last_sync_at: wsPoke.last_changed_at });
    expect(pulled.server_changes).toEqual([]);
  });

  it('announces exactly the commits that wrote something, with the final position (hooks included), never a pull or a rolled-back batch', async () => {
    const listener = new Client({ connectionString: a.db.url });
    await listener.connect();
    const notices: Notification[] = [];
    listener.on('notification', (n) => notices.push(n));
    await listener.query('LISTEN sync_commit');
    try {
      const first = await push(f, 'phone', 'task-notify');
      await syncOk(a, f.token(), { device_id: 'phone', last_sync_at: first.last_sync_at });
      const rolledBack = await syncOk(a, f.token(), {
        device_id: 'phone',
        atomic: true,
        changes: [
          change({ entity_id: 'atomic-create', data: { title: 'rolled back' } }),
          change({ entity_type: 'nope', entity_id: 'x', data: {} }),
        ],
      });
      expect(rolledBack).toMatchObject({ success: false, applied_count: 0 });
      // Completing a task with points: the gamification hook writes rows after the client's.
      const done = await syncOk(a, f.token(), {
        device_id: 'laptop',
        changes: [change({ entity_id: 'task-notify', action: 'update', version: 1, data: { status: 'done', points: 5 } })],
      });
      expect(done.server_changes.map((c) => c.entity_type)).toContain('points_ledger');
      const hookPosition = done.server_changes
        .map((c) => c.server_timestamp)
        .sort()
        .at(-1);
      expect(done.last_sync_at).toBe(hookPosition);
      const deadline = Date.now() + 10_000;
      while (notices.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // Notifications arrive in commit order: the pull and the rolled-back batch sent none.
      expect(notices.map((n) => JSON.parse(n.payload!))).toEqual([
        { f: f.familyId, p: first.last_sync_at, d: 'phone' },
        { f: f.familyId, p: done.last_sync_at, d: 'laptop' },
      ]);
    } finally {
      await listener.end();
    }
  });

  it('ready carries the family position; ping gets pong', async () => {
    const pushed = await push(f, 'phone', 'task-ready');
    const ws = track(await readyWs(b, f.token(), 'tablet'));
    expect(ws.messages[0]).toEqual({ type: 'ready', last_changed_at: pushed.last_sync_at });
    await ws.roundTrip();
    expect(ws.messages.at(-1)).toEqual({ type: 'pong' });
  });

  describe('auth (WebSocket)', () => {
    const closeOf = async (message: unknown) => {
      const ws = track(await connectWs(b));
      ws.send(message);
      return ws.closed;
    };

    it('closes 4408 when no auth message arrives within 10 s', async () => {
      const ws = track(await connectWs(b));
      const started = Date.now();
      expect((await ws.closed).code).toBe(4408);
      expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
    }, 30_000);

    it.each([
      ['a garbage token', () => 'not-a-jwt'],
      ['an expired token', () => mintToken({ sub: 'alice', familyId: f.familyId }, { expiresIn: -60 })],
      ['a token signed with another key', () => mintToken({ sub: 'alice', familyId: f.familyId }, {}, 'x'.repeat(40))],
      [
        'an alg none token',
        () => sign({ sub: 'alice', familyId: f.familyId, exp: Math.floor(Date.now() / 1000) + 600 }, '', { algorithm: 'none' }),
      ],
    ])('closes 4401 on %s', async (_, token) => {
      expect((await closeOf({ type: 'auth', token: token(), device_id: 'd' })).code).toBe(4401);
    });

    it('closes 4401 when the first message is not an auth message', async () => {
      expect((await closeOf({ type: 'ping' })).code).toBe(4401);
    });

    it('closes 4403 for a token without familyId and for a non-member', async () => {
      expect((await closeOf({ type: 'auth', token: mintToken({ sub: 'alice' }), device_id: 'd' })).code).toBe(4403);
      expect((await closeOf({ type: 'auth', token: f.token('mallory'), device_id: 'd' })).code).toBe(4403);
      expect((await closeOf({ type: 'auth', token: mintToken({ sub: 'alice', familyId: 'not-a-uuid' }), device_id: 'd' })).code).toBe(4403);
    });

    it('closes 1008 naming device_id when it is missing', async () => {
      expect(await closeOf({ type: 'auth', token: f.token() })).toEqual({
        code: 1008,
        reason: 'device_id must be a string of 1..128 characters',
      });
    });

    it('closes 4401 when the token expires while connected', async () => {
      const token = mintToken({ sub: 'alice', familyId: f.familyId }, { expiresIn: 2 });
      const ws = track(await readyWs(b, token, 'short-lived'));
      const sse = track(await readySse(b, token, 'short-lived-sse'));
      expect((await ws.closed).code).toBe(4401);
      expect(await sse.next((m) => m.type === 'end')).toMatchObject({ type: 'end', code: 4401 });
    });
  });

  describe('auth (SSE)', () => {
    it('answers 401, 403 and 400 before the stream starts', async () => {
      expect((await openSse(b, undefined, 'd')).status).toBe(401);
      expect((await openSse(b, 'not-a-jwt', 'd')).status).toBe(401);
      expect((await openSse(b, mintToken({ sub: 'alice' }), 'd')).status).toBe(403);
      expect((await openSse(b, f.token('mallory'), 'd')).status).toBe(403);
      const bad = await openSse(b, f.token(), undefined);
      expect(bad).toMatchObject({
        status: 400,
        body: { error: 'bad_device_id', message: 'device_id must be a string of 1..128 characters' },
      });
    });
  });

  it('a member removed through A has its streams on B closed with 4403', async () => {
    await f.addMember('bob');
    const ws = track(await readyWs(b, f.token('bob'), 'bob-phone'));
    const sse = track(await readySse(b, f.token('bob'), 'bob-laptop'));
    const alice = track(await readyWs(b, f.token('alice'), 'alice-phone'));
    await request(a.server).delete(`/families/${f.familyId}/members/bob`).set(bearer(f.token())).expect(204);
    expect((await ws.closed).code).toBe(4403);
    expect(await sse.next((m) => m.type === 'end')).toMatchObject({ type: 'end', code: 4403 });
    await alice.roundTrip();
    expect(alice.socket.readyState).toBe(alice.socket.OPEN);
  });

  it('a burst of 500 commits gives far fewer pokes, the last with the last position', async () => {
    const burst = await createFamily(a, 'bea');
    const ws = track(await readyWs(b, burst.token('bea'), 'watcher'));
    const positions: string[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, worker) => {
        for (let i = 0; i < 50; i++) {
          const res = await syncOk(a, burst.token('bea'), {
            device_id: `pusher-${worker}`,
            changes: [change({ entity_id: `t-${worker}-${i}`, data: { title: 'burst' } })],
          });
          positions.push(res.last_sync_at);
        }
      }),
    );
    const last = positions.sort().at(-1)!;
    await ws.next((m) => m.type === 'poke' && m.last_changed_at === last);
    await ws.roundTrip();
    const pokes = ws.pokes();
    process.stdout.write(`burst: 500 commits -> ${pokes.length} pokes\n`);
    expect(pokes.length).toBeLessThan(250);
    expect(pokes.at(-1)).toBe(last);
    expect([...pokes].sort()).toEqual(pokes);
  });

  it('after the listener session is killed, it comes back and open streams get the current position', async () => {
    const pushed = await push(f, 'phone', 'task-before-kill');
    const ws = track(await readyWs(b, f.token(), 'tablet'));
    const sse = track(await readySse(b, f.token(), 'laptop'));
    const killed = await a.db.admin<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND application_name = 'delta-sync-listener'`,
      [a.db.name],
    );
    expect(killed).toEqual([{ killed: true }, { killed: true }]);
    await ws.next((m) => m.type === 'poke' && m.last_changed_at === pushed.last_sync_at);
    await sse.next((m) => m.type === 'poke' && m.last_changed_at === pushed.last_sync_at);
    // And it listens again: the next commit pokes as usual.
    const again = await push(f, 'phone', 'task-after-kill');
    await ws.next((m) => m.type === 'poke' && m.last_changed_at === again.last_sync_at);
  });

  it('exposes sync_streams_open{transport} and sync_pokes_total', async () => {
    track(await readyWs(b, f.token(), 'metrics-ws'));
    const text = (await request(b.server).get('/metrics').expect(200)).text;
    expect(text).toMatch(/^sync_streams_open\{transport="ws"\} [1-9]\d*$/m);
    expect(text).toMatch(/^sync_streams_open\{transport="sse"\} \d+$/m);
    expect(text).toMatch(/^sync_pokes_total [1-9]\d*$/m);
  });
});

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
  let h: TestApp;
  let f: FamilyFixture;

  beforeAll(async () => {
    h = await startTestApp({ SYNC_WS_HEARTBEAT_MS: '200', SYNC_MAX_STREAMS_PER_USER: '1' });
    f = await createFamily(h, 'alice');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('drops a peer that stops answering pings, which frees its stream slot; a live peer stays', async () => {
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
