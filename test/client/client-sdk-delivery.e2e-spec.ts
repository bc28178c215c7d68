import { gunzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { ConflictEvent, ErrorEvent, FetchLike, OutgoingChange } from '@delta-sync/client';
import { mintToken } from '@app/testing';
import { Exchange, recordingFetch, replicaState, sdkClient, serverState } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * How the client SDK gets its requests through: the same bytes resent through a proxy
 * that loses answers and 503s, a token refreshed after a 401, gzip above 8 KB, and one
 * request in flight per client.
 */
describe('client SDK delivery', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  it('a proxy that loses answers after the server applied them, and 503s: the client resends the same bytes, every change is applied once', async () => {
    const f = await createFamily(t);
    const log: Exchange[] = [];
    let n = 0;
    const flaky: FetchLike = async (url, init) => {
      n += 1;
      const body = init.body as string;
      if (n % 3 === 1) {
        log.push({ body, status: 503, at: Date.now(), headers: init.headers });
        return new Response(JSON.stringify({ statusCode: 503, error: 'database_unavailable' }), {
          status: 503,
          headers: { 'Retry-After': '0' },
        });
      }
      const res = await fetch(url, init as RequestInit);
      await res.clone().text();
      if (n % 3 === 2) {
        log.push({ body, status: 'dropped', at: Date.now(), headers: init.headers });
        throw new TypeError('socket hang up (answer lost after the server committed)');
      }
      log.push({ body, status: res.status, at: Date.now(), headers: init.headers });
      return res;
    };
    const client = await sdkClient(t, f, 'flaky-1', { fetch: flaky, pageLimit: 3 });
    const errors: ErrorEvent[] = [];
    const conflicts: ConflictEvent[] = [];
    client.on('error', (e) => errors.push(e));
    client.on('conflict', (c) => conflicts.push(c));
    for (let i = 0; i < 5; i++) await client.create('task', `t${i}`, { title: `t${i}`, points: 10 });
    await client.create('points_ledger', 'bonus-1', { userId: 'alice', delta: 7, reason: 'bonus' });
    await client.sync();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) await client.update('task', `t${i}`, { desc: `round ${round}` });
      await client.sync();
    }
    await client.update('task', 't0', { status: 'done', completedAt: new Date().toISOString() });
    await client.sync();

    expect(errors).toEqual([]);
    expect(conflicts).toEqual([]);
    // Each failed attempt was followed by the very same bytes.
    const failed = log.flatMap((e, i) => (e.status === 503 || e.status === 'dropped' ? [i] : []));
    expect(failed.length).toBeGreaterThan(4);
    for (const i of failed) expect(log[i + 1].body).toBe(log[i].body);
    // Applied once each: version 1 + 3 updates (+ done for t0); one ledger row per credit.
    const server = await serverState(t, f.familyId);
    expect([0, 1, 2, 3, 4].map((i) => server[`task:t${i}`].version)).toEqual([5, 4, 4, 4, 4]);
    expect(server['points_ledger:bonus-1']).toMatchObject({ version: 1, data: { delta: 7 } });
    const ledger = await t.app.get(DataSource).query('SELECT id FROM points_ledger WHERE family_id = $1 ORDER BY id', [f.familyId]);
    expect(ledger.map((r: { id: string }) => r.id)).toEqual(['bonus-1', 'task_completed:t0:alice']);
    expect(replicaState(client)).toEqual(server);
    await client.stop();
  });

  it('a 401 that getToken fixes: asked once more with afterUnauthorized, the request goes through; a second 401 fails the round and keeps the outbox', async () => {
    const f = await createFamily(t);
    const calls: boolean[] = [];
    const expired = mintToken({ sub: 'alice', familyId: f.familyId }, { expiresIn: -60 });
    const client = await sdkClient(t, f, 'auth-1', {
      getToken: ({ afterUnauthorized }) => {
        calls.push(afterUnauthorized);
        return afterUnauthorized ? f.token() : expired;
      },
    });
    await client.create('task', 'a1', { title: 'a' });
    await client.sync();
    expect(calls).toEqual([false, true]);
    expect(client.get('task', 'a1')?.version).toBe(1);

    const broken = await sdkClient(t, f, 'auth-2', { getToken: () => 'not-a-jwt' });
    const errors: ErrorEvent[] = [];
    broken.on('error', (e) => errors.push(e));
    await broken.create('task', 'a2', { title: 'b' });
    await expect(broken.sync()).rejects.toMatchObject({ status: 401 });
    expect(errors).toEqual([expect.objectContaining({ kind: 'sync', status: 401 })]);
    expect(broken.pending()).toHaveLength(1);
    await Promise.all([client.stop(), broken.stop()]);
  });

  it('a body over 8 KB goes gzip-compressed and the server applies it', async () => {
    const f = await createFamily(t);
    const log: Exchange[] = [];
    const client = await sdkClient(t, f, 'gz-1', { fetch: recordingFetch(log) });
    for (let i = 0; i < 30; i++) await client.create('task', `g${i}`, { title: `g${i}`, desc: 'x'.repeat(400) });
    await client.sync();
    expect(log[0].headers['Content-Encoding']).toBe('gzip');
    const sent = JSON.parse(gunzipSync(Buffer.from(log[0].body, 'base64')).toString('utf8'));
    expect(sent.changes).toHaveLength(30);
    expect(Object.keys(await serverState(t, f.familyId))).toHaveLength(30);
    await client.stop();
  });

  it('one request in flight per client: sync() calls made meanwhile join one next round', async () => {
    const f = await createFamily(t);
    let inFlight = 0;
    let most = 0;
    const bodies: string[] = [];
    const counting: FetchLike = async (url, init) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      bodies.push(init.body as string);
      try {
        return await fetch(url, init as RequestInit);
      } finally {
        inFlight -= 1;
      }
    };
    const client = await sdkClient(t, f, 'serial-1', { fetch: counting });
    await client.create('task', 's1', { title: 's1' });
    const first = client.sync();
    await client.create('task', 's2', { title: 's2' });
    const joined = [client.sync(), client.sync(), client.sync()];
    expect(joined[1]).toBe(joined[0]);
    await Promise.all([first, ...joined]);
    expect(most).toBe(1);
    expect(bodies.map((b) => JSON.parse(b).changes.map((c: OutgoingChange) => c.entity_id))).toEqual([['s1'], ['s2']]);
    await client.stop();
  });
});
