import { gunzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { ConflictEvent, ErrorEvent, FetchLike, MemoryStorage, OutgoingChange } from '@delta-sync/client';
import { mintToken } from '@app/testing';
import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { CrashingStorage, Exchange, recordingFetch, replicaState, sdkClient, serverState } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The client SDK (libs/client) against the real service and PostgreSQL: the README
 * example, retries through a proxy that loses answers, a crash between a page and its
 * storage, errors, auth, gzip and the horizon resync. The convergence property is in
 * client-sdk-property, the rate limit in client-sdk-limits, realtime in client-sdk-live.
 */
describe('client SDK against the server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  const changesIn = (ex: Exchange[]) =>
    ex.map((e) => (JSON.parse(e.body) as { changes: OutgoingChange[] }).changes.map((c) => c.change_id));

  it('the README example: create, update, sync; another device sees it; its stale edit comes back as a conflict event', async () => {
    const f = await createFamily(t, 'alice');
    await f.addMember('bob');
    const phone = await sdkClient(t, f, 'phone-1');
    const tablet = await sdkClient(t, f, 'tablet-1', { user: 'bob' });
    const changes: string[] = [];
    phone.on('change', (e) => changes.push(`${e.origin}:${e.entity_id}`));

    await phone.create('task', 'task-1', { title: 'Buy milk', points: 10, assignees: ['bob'] });
    await phone.update('task', 'task-1', { desc: 'two litres' });
    expect(phone.get('task', 'task-1')).toMatchObject({
      version: 0,
      pending: true,
      data: { title: 'Buy milk', desc: 'two litres', status: 'open' },
    });
    // Not sent yet: the update merges into the create.
    expect(phone.pending().map((c) => [c.action, c.version])).toEqual([['create', 0]]);
    await phone.sync();
    expect(phone.pending()).toEqual([]);
    expect(phone.get('task', 'task-1')).toEqual({
      id: 'task-1',
      version: 1,
      pending: false,
      data: { title: 'Buy milk', desc: 'two litres', status: 'open', assignees: ['bob'], due: null, points: 10, completedAt: null },
    });

    await tablet.sync();
    expect(tablet.get('task', 'task-1')?.version).toBe(1);
    // Both edit version 1; the phone syncs first, so the tablet's older title loses.
    await tablet.update('task', 'task-1', { title: 'Buy oat milk' });
    await new Promise((r) => setTimeout(r, 5));
    await phone.update('task', 'task-1', { title: 'Buy soy milk', status: 'done', completedAt: new Date().toISOString() });
    await phone.sync();
    const conflicts: ConflictEvent[] = [];
    tablet.on('conflict', (c) => conflicts.push(c));
    await tablet.sync();
    expect(conflicts).toEqual([expect.objectContaining({ entity_id: 'task-1', resolution: 'server_wins', rejected_fields: ['title'] })]);
    expect(conflicts[0].change?.data).toEqual({ title: 'Buy oat milk' });
    // Bob's points, streak and badge computed by the server reach both replicas.
    await phone.sync();
    const server = await serverState(t, f.familyId);
    expect(server['points_ledger:task_completed:task-1:bob']).toBeDefined();
    expect(replicaState(tablet)).toEqual(server);
    expect(replicaState(phone)).toEqual(server);
    expect(changes).toEqual(expect.arrayContaining(['local:task-1', 'server:task_completed:task-1:bob', 'server:bob']));
    await Promise.all([phone.stop(), tablet.stop()]);
  });

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

  it('a crash between receiving a page and storing it repeats that page: a new client on the same storage does not skip it', async () => {
    const f = await createFamily(t);
    const writer = await sdkClient(t, f, 'writer');
    for (let i = 0; i < 7; i++) await writer.create('task', `p${i}`, { title: `p${i}` });
    await writer.sync();

    const disk = new MemoryStorage();
    const crashing = new CrashingStorage(disk);
    const first = await sdkClient(t, f, 'reader', { storage: crashing, pageLimit: 3 });
    await first.sync(); // pages 1..3: all seven tasks
    await writer.update('task', 'p1', { desc: 'later' });
    await writer.create('task', 'p7', { title: 'p7' });
    await writer.sync();
    // The next page arrives, and the app dies while storing it.
    crashing.crashOn = (w) => (w.putEntities?.length ?? 0) > 0;
    await expect(first.sync()).rejects.toThrow('simulated crash');
    const watermarkOnDisk = (await disk.load()).lastSyncAt;

    const log: Exchange[] = [];
    const second = await sdkClient(t, f, 'reader', { storage: disk, pageLimit: 3, fetch: recordingFetch(log) });
    expect(second.lastSyncAt).toBe(watermarkOnDisk);
    await second.sync();
    expect(JSON.parse(log[0].body).last_sync_at).toBe(watermarkOnDisk);
    expect(second.get('task', 'p1')?.data.desc).toBe('later');
    expect(second.get('task', 'p7')).toBeDefined();
    expect(replicaState(second)).toEqual(await serverState(t, f.familyId));
    await Promise.all([writer.stop(), first.stop(), second.stop()]);
  });

  it('a per-change error is reported once, leaves the outbox and is never resent; the rest of the batch applies', async () => {
    const f = await createFamily(t);
    const log: Exchange[] = [];
    const client = await sdkClient(t, f, 'err-1', { fetch: recordingFetch(log) });
    const errors: ErrorEvent[] = [];
    client.on('error', (e) => errors.push(e));
    await client.create('task', 'ok', { title: 'fine' });
    await client.create('task', 'bad', { title: 'x', points: -5 });
    await client.create('widget', 'w1', { any: 1 });
    await client.sync();
    await client.sync();
    expect(errors.map((e) => (e.kind === 'change' ? [e.change.entity_id, e.error.code] : e.kind))).toEqual([
      ['bad', 'validation'],
      ['w1', 'unknown_entity_type'],
    ]);
    expect(client.pending()).toEqual([]);
    expect(changesIn(log).map((ids) => ids.length)).toEqual([3, 0]);
    expect(client.get('task', 'bad')).toBeUndefined();
    expect(client.get('task', 'ok')?.version).toBe(1);
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

  // Last: purging tombstones touches every family of this suite's database.
  it('behind the tombstone horizon: resync_required replaces the replica and keeps the unsynced changes, which are sent and applied', async () => {
    const f = await createFamily(t);
    const other = await sdkClient(t, f, 'other');
    const log: Exchange[] = [];
    const client = await sdkClient(t, f, 'old-phone', { fetch: recordingFetch(log) });
    for (const id of ['h1', 'h2', 'h3']) await other.create('task', id, { title: id });
    await other.sync();
    await client.sync();
    expect(client.list('task')).toHaveLength(3);
    await other.delete('task', 'h2');
    await other.update('task', 'h3', { desc: 'after' });
    await other.sync();
    expect(await t.app.get(SyncMaintenanceService).purgeTombstones(0)).toBeGreaterThanOrEqual(1);

    // Offline edits made before the resync survive it.
    await client.update('task', 'h1', { desc: 'mine' });
    await client.create('task', 'h4', { title: 'new offline' });
    await client.sync();
    expect(log.map((e) => JSON.parse(e.response ?? '{}').resync_required)).toContain(true);
    await other.sync();
    const server = await serverState(t, f.familyId);
    expect(server['task:h2']).toBeUndefined();
    expect(server['task:h1'].data).toMatchObject({ desc: 'mine' });
    expect(server['task:h4']).toBeDefined();
    expect(replicaState(client)).toEqual(server);
    expect(client.get('task', 'h2')).toBeUndefined();
    await Promise.all([other.stop(), client.stop()]);
  });

  it('a caller mutating a returned object changes nothing stored, also after a change applied without data', async () => {
    const f = await createFamily(t);
    const storage = new MemoryStorage();
    const phone = await sdkClient(t, f, 'immutable-1', { storage });
    await phone.create('task', 'im-1', { title: 'kept', assignees: ['bob'] });
    await phone.sync();
    const got = phone.get('task', 'im-1')!;
    expect(() => Object.assign(got.data, { title: 'mutated' })).toThrow(TypeError);
    expect(() => (got.data.assignees as string[]).push('eve')).toThrow(TypeError);
    // Applied as sent: the client computes the new state from its replica.
    await phone.update('task', 'im-1', { points: 3 });
    await phone.sync();
    const stored = (await storage.load()).entities.find((e) => e.entity_id === 'im-1');
    expect(stored?.data).toMatchObject({ title: 'kept', assignees: ['bob'], points: 3 });
    expect((await serverState(t, f.familyId))['task:im-1'].data).toEqual(stored?.data);
    await phone.stop();
  });

  it('100 offline title edits of one task send one change; one already sent is never rewritten', async () => {
    const f = await createFamily(t);
    const net = { offline: false };
    const log: Exchange[] = [];
    const phone = await sdkClient(t, f, 'coalesce-1', { fetch: recordingFetch(log, net), retry: { baseMs: 5, maxMs: 5, maxAttempts: 1 } });
    phone.on('error', () => undefined);
    await phone.create('task', 'co-1', { title: 'first' });
    await phone.sync();
    net.offline = true;
    for (let i = 0; i < 100; i++) await phone.update('task', 'co-1', { title: `edit ${i}` });
    net.offline = false;
    log.length = 0;
    await phone.sync();
    expect(changesIn(log)).toHaveLength(1);
    expect(changesIn(log)[0]).toHaveLength(1);
    expect((await serverState(t, f.familyId))['task:co-1']).toMatchObject({ version: 2, data: { title: 'edit 99' } });

    // Sent while offline (the answer never came): the next edit is a change of its own.
    net.offline = true;
    await phone.update('task', 'co-1', { title: 'sent, not answered' });
    await expect(phone.sync()).rejects.toThrow('offline');
    await phone.update('task', 'co-1', { title: 'after' });
    expect(phone.pending().map((c) => c.data)).toEqual([{ title: 'sent, not answered' }, { title: 'after' }]);
    net.offline = false;
    await phone.sync();
    expect((await serverState(t, f.familyId))['task:co-1']).toMatchObject({ version: 4, data: { title: 'after' } });
    await phone.stop();
  });
});
