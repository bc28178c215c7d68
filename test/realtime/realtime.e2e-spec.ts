import { Client, Notification } from 'pg';
import request from 'supertest';
import { change, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { readySse, readyWs } from '../support/realtime-clients';
import { instancePairSuite } from '../support/realtime-helpers';

/**
 * PROTOCOL 2.7 through real sockets: two instances (A and B) on one database, as two Nest apps
 * in this process; a commit on A reaches B only through PostgreSQL NOTIFY. Auth of the streams
 * is realtime-auth.e2e-spec.ts; limits, shutdown and heartbeat are realtime-lifecycle.e2e-spec.ts.
 */
describe('realtime pokes across instances', () => {
  const { a, b, family: f, other, track } = instancePairSuite();

  const push = (fixture: FamilyFixture, deviceId: string, entityId: string, user = 'alice') =>
    syncOk(a(), fixture.token(user), { device_id: deviceId, changes: [change({ entity_id: entityId, data: { title: entityId } })] });

  it('a push through A pokes a WebSocket and an SSE stream on B with its position, not the pushing device, not another family', async () => {
    const ws = track(await readyWs(b(), f().token(), 'tablet'));
    const sse = track(await readySse(b(), f().token(), 'laptop'));
    const pusher = track(await readyWs(b(), f().token(), 'phone'));
    const stranger = track(await readyWs(b(), other().token('olga'), 'tablet'));

    const started = Date.now();
    const pushed = await push(f(), 'phone', 'task-poke');
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
    const pulled = await syncOk(b(), f().token(), { device_id: 'tablet', last_sync_at: wsPoke.last_changed_at });
    expect(pulled.server_changes).toEqual([]);
  });

  it('announces exactly the commits that wrote something, with the final position (hooks included), never a pull or a rolled-back batch', async () => {
    const listener = new Client({ connectionString: a().db.url });
    await listener.connect();
    const notices: Notification[] = [];
    listener.on('notification', (n) => notices.push(n));
    await listener.query('LISTEN sync_commit');
    try {
      const first = await push(f(), 'phone', 'task-notify');
      await syncOk(a(), f().token(), { device_id: 'phone', last_sync_at: first.last_sync_at });
      const rolledBack = await syncOk(a(), f().token(), {
        device_id: 'phone',
        atomic: true,
        changes: [
          change({ entity_id: 'atomic-create', data: { title: 'rolled back' } }),
          change({ entity_type: 'nope', entity_id: 'x', data: {} }),
        ],
      });
      expect(rolledBack).toMatchObject({ success: false, applied_count: 0 });
      // Completing a task with points: the gamification hook writes rows after the client's.
      const done = await syncOk(a(), f().token(), {
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
        { f: f().familyId, p: first.last_sync_at, d: 'phone' },
        { f: f().familyId, p: done.last_sync_at, d: 'laptop' },
      ]);
    } finally {
      await listener.end();
    }
  });

  it('ready carries the family position; ping gets pong', async () => {
    const pushed = await push(f(), 'phone', 'task-ready');
    const ws = track(await readyWs(b(), f().token(), 'tablet'));
    expect(ws.messages[0]).toEqual({ type: 'ready', last_changed_at: pushed.last_sync_at });
    await ws.roundTrip();
    expect(ws.messages.at(-1)).toEqual({ type: 'pong' });
  });

  it('a burst of 500 commits gives far fewer pokes, the last with the last position', async () => {
    const burst = await createFamily(a(), 'bea');
    const ws = track(await readyWs(b(), burst.token('bea'), 'watcher'));
    const positions: string[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, worker) => {
        for (let i = 0; i < 50; i++) {
          const res = await syncOk(a(), burst.token('bea'), {
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
    const pushed = await push(f(), 'phone', 'task-before-kill');
    const ws = track(await readyWs(b(), f().token(), 'tablet'));
    const sse = track(await readySse(b(), f().token(), 'laptop'));
    const killed = await a().db.admin<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND application_name = 'delta-sync-listener'`,
      [a().db.name],
    );
    expect(killed).toEqual([{ killed: true }, { killed: true }]);
    await ws.next((m) => m.type === 'poke' && m.last_changed_at === pushed.last_sync_at);
    await sse.next((m) => m.type === 'poke' && m.last_changed_at === pushed.last_sync_at);
    // And it listens again: the next commit pokes as usual.
    const again = await push(f(), 'phone', 'task-after-kill');
    await ws.next((m) => m.type === 'poke' && m.last_changed_at === again.last_sync_at);
  });

  it('exposes sync_streams_open{transport} and sync_pokes_total', async () => {
    track(await readyWs(b(), f().token(), 'metrics-ws'));
    const text = (await request(b().server).get('/metrics').expect(200)).text;
    expect(text).toMatch(/^sync_streams_open\{transport="ws"\} [1-9]\d*$/m);
    expect(text).toMatch(/^sync_streams_open\{transport="sse"\} \d+$/m);
    expect(text).toMatch(/^sync_pokes_total [1-9]\d*$/m);
  });
});
