import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from '../support/test-app';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import type { DeltaResponseDto as DeltaBody } from '../../apps/api/src/sync/dto/delta-response.dto';
import type { SyncChangeInput } from '../../apps/api/src/sync/dto/delta-request';
import { LiveRow, liveTasksAndEvents } from '../support/db-state';

/**
 * Concurrency of POST /sync/delta (PROTOCOL 2, 2.1, 2.4): many devices of one family writing in
 * parallel while another device pulls incrementally with small pages must never lose or
 * duplicate a commit; families never wait for each other; one family's changes are
 * serialised. Requests go over real HTTP (fetch) so they really run concurrently.
 */

// ---------------------------------------------------------------------------------------
// Wire types and a tiny client

type WireChange = SyncChangeInput;

async function postDelta(t: TestApp, token: string, body: Record<string, unknown>): Promise<{ status: number; body: DeltaBody }> {
  const res = await fetch(`${t.baseUrl}/sync/delta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed as DeltaBody };
}

/** A request that must succeed: fails the test with the body otherwise. */
async function sync(t: TestApp, token: string, body: Record<string, unknown>): Promise<DeltaBody> {
  const res = await postDelta(t, token, body);
  if (res.status !== 200)
    throw new Error(`POST /sync/delta -> ${res.status}: ${JSON.stringify(res.body)}\nrequest: ${JSON.stringify(body)}`);
  return res.body;
}

/** Deterministic PRNG (mulberry32), so a failing run can be replayed with the printed seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

const key = (type: string, id: string) => `${type}:${id}`;
const iso = (ms: number) => new Date(ms).toISOString();

/** Commit positions of every row of the family, in commit order (for the failure report). */
async function positions(t: TestApp, familyId: string) {
  return t.app.get(DataSource).query(
    `SELECT * FROM (
       SELECT 'task' AS type, id, version, created_us, changed_us, deleted_us FROM tasks WHERE family_id = $1
       UNION ALL SELECT 'event', id, version, created_us, changed_us, deleted_us FROM events WHERE family_id = $1
       UNION ALL SELECT 'points_ledger', id, version, created_us, changed_us, deleted_us FROM points_ledger WHERE family_id = $1
       UNION ALL SELECT 'user_streak', id, version, created_us, changed_us, deleted_us FROM user_streaks WHERE family_id = $1
       UNION ALL SELECT 'badge', id, version, created_us, changed_us, deleted_us FROM badges WHERE family_id = $1
     ) AS r ORDER BY changed_us`,
    [familyId],
  );
}

const onlyTasksAndEvents = (m: Map<string, LiveRow>) => new Map([...m].filter(([k]) => k.startsWith('task:') || k.startsWith('event:')));

const sorted = (m: Map<string, LiveRow>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

// ---------------------------------------------------------------------------------------
// Writers: devices that push random changes with correct or stale versions

interface Writer {
  deviceId: string;
  token: string;
  watermark: string | null;
  /** Highest version this device has heard of, per entity. */
  versions: Map<string, number>;
  /** Entities this device knows to be deleted. */
  deleted: Set<string>;
  ownTasks: string[];
  ownEvents: string[];
  seq: number;
}

const SHARED_TASKS = Array.from({ length: 10 }, (_, i) => `T${i}`);
const SHARED_EVENTS = Array.from({ length: 6 }, (_, i) => `E${i}`);
const SHARED_CREATES = Array.from({ length: 5 }, (_, i) => `S${i}`);
const USERS = ['alice', 'bob', 'carol'];

function taskPatch(rng: Rng, nowMs: number): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (rng.chance(0.6)) patch.title = `title-${rng.int(0, 999)}`;
  if (rng.chance(0.3)) patch.desc = rng.chance(0.2) ? null : `desc-${rng.int(0, 999)}`;
  if (rng.chance(0.3)) patch.points = rng.int(0, 50);
  if (rng.chance(0.2)) patch.assignees = USERS.filter(() => rng.chance(0.5));
  if (rng.chance(0.3)) {
    patch.status = rng.pick(['open', 'in_progress', 'done']);
    if (patch.status === 'done' && rng.chance(0.7)) patch.completedAt = iso(nowMs - rng.int(0, 3_600_000));
  }
  if (Object.keys(patch).length === 0) patch.title = `title-${rng.int(0, 999)}`;
  return patch;
}

function eventPatch(rng: Rng): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (rng.chance(0.6)) patch.title = `event-${rng.int(0, 999)}`;
  if (rng.chance(0.4)) patch.description = `about-${rng.int(0, 999)}`;
  if (rng.chance(0.3)) patch.attendees = USERS.filter(() => rng.chance(0.5));
  if (Object.keys(patch).length === 0) patch.title = `event-${rng.int(0, 999)}`;
  return patch;
}

/** 3..6 changes of one request. */
function writerChanges(w: Writer, rng: Rng): WireChange[] {
  const now = Date.now();
  // Device clocks disagree: timestamps within +-90 s of now (inside the allowed skew).
  const ts = () => iso(now + rng.int(-90_000, 90_000));
  const version = (k: string) => {
    const v = w.versions.get(k) ?? 1;
    return rng.chance(0.2) ? Math.max(0, v - rng.int(1, 2)) : v; // sometimes deliberately stale
  };
  // The random draws in this order: version, patch, timestamp.
  const taskUpdate = (id: string): WireChange => ({
    entity_type: 'task',
    entity_id: id,
    action: 'update',
    version: version(key('task', id)),
    data: taskPatch(rng, now),
    client_timestamp: ts(),
  });
  const changes: WireChange[] = [];
  const n = rng.int(3, 6);
  for (let i = 0; i < n; i++) {
    const roll = rng.next();
    if (roll < 0.35) {
      const id = rng.pick(SHARED_TASKS);
      changes.push(taskUpdate(id));
    } else if (roll < 0.5) {
      const id = rng.pick(SHARED_EVENTS);
      changes.push({ entity_type: 'event', entity_id: id, action: 'update', data: eventPatch(rng), client_timestamp: ts() });
    } else if (roll < 0.6) {
      const id = `${w.deviceId}-t${w.seq++}`;
      w.ownTasks.push(id);
      changes.push({
        entity_type: 'task',
        entity_id: id,
        action: 'create',
        version: 0,
        data: { title: `own ${id}`, points: rng.int(0, 9) },
        client_timestamp: ts(),
      });
    } else if (roll < 0.7 && w.ownTasks.some((id) => w.versions.has(key('task', id)))) {
      // Only tasks whose create this device saw answered (a parallel request may still be in flight).
      const id = rng.pick(w.ownTasks.filter((x) => w.versions.has(key('task', x))));
      changes.push(taskUpdate(id));
    } else if (roll < 0.8) {
      // Several devices create the same id concurrently: later creates become updates.
      const id = rng.pick(SHARED_CREATES);
      changes.push({
        entity_type: 'task',
        entity_id: id,
        action: 'create',
        version: w.versions.get(key('task', id)) ?? 0,
        data: { title: `shared ${id} by ${w.deviceId}` },
        client_timestamp: ts(),
      });
    } else if (roll < 0.87) {
      const id = `${w.deviceId}-e${w.seq++}`;
      w.ownEvents.push(id);
      changes.push({
        entity_type: 'event',
        entity_id: id,
        action: 'create',
        data: { title: `own ${id}`, start: '2030-01-01T10:00:00.000Z', end: '2030-01-01T11:00:00.000Z' },
        client_timestamp: ts(),
      });
    } else if (roll < 0.93) {
      const id = rng.pick(['T8', 'T9', 'S4', ...w.ownTasks]);
      changes.push({ entity_type: 'task', entity_id: id, action: 'delete', version: version(key('task', id)), client_timestamp: ts() });
    } else {
      const id = rng.pick(['E5', ...w.ownEvents]);
      changes.push({ entity_type: 'event', entity_id: id, action: 'delete', client_timestamp: ts() });
    }
  }
  return changes;
}

function learn(w: Writer, body: DeltaBody): void {
  const bump = (k: string, v: number | null | undefined) => {
    if (typeof v === 'number' && v > (w.versions.get(k) ?? 0)) w.versions.set(k, v);
  };
  for (const a of body.applied) bump(key(a.entity_type, a.entity_id), a.version);
  for (const c of body.conflicts) {
    bump(key(c.entity_type, c.entity_id), c.server_version);
    if (c.server_data === null) w.deleted.add(key(c.entity_type, c.entity_id));
  }
  for (const s of body.server_changes) {
    bump(key(s.entity_type, s.entity_id), s.version);
    if (s.action === 'delete') w.deleted.add(key(s.entity_type, s.entity_id));
  }
  if (!body.has_more && (w.watermark === null || body.last_sync_at > w.watermark)) w.watermark = body.last_sync_at;
}

// ---------------------------------------------------------------------------------------
// The poller: a device that only pulls, with small pages, and checks exactly-once

class Poller {
  readonly replica = new Map<string, LiveRow>();
  readonly seen = new Set<string>();
  readonly violations: string[] = [];
  watermark: string | null = null;
  lastPosition = '';
  pulls = 0;
  received = 0;
  /** The previous response had `has_more`: this pull continues a cut page. */
  private continuing = false;
  upsertsAfterCut = 0;
  /** Every pull: its watermark in and out, and what it brought (for the failure report). */
  readonly history: string[] = [];

  constructor(
    private readonly t: TestApp,
    private readonly token: string,
    readonly deviceId: string,
    private readonly limit: number,
  ) {}

  /** One request; returns has_more. */
  async pullOnce(): Promise<boolean> {
    const since = this.watermark;
    const body = await sync(this.t, this.token, { device_id: this.deviceId, last_sync_at: since, limit: this.limit });
    this.pulls++;
    const v = (msg: string) => this.violations.push(`pull #${this.pulls} since ${since}: ${msg}`);
    if (body.server_changes.length > this.limit) v(`${body.server_changes.length} changes over limit ${this.limit}`);
    if (body.has_more && body.server_changes.length !== this.limit) v(`has_more with a short page (${body.server_changes.length})`);
    if (body.resync_required) v('resync_required');
    for (const s of body.server_changes) {
      this.received++;
      const k = key(s.entity_type, s.entity_id);
      const kv = `${k}@${s.version}`;
      if (this.seen.has(kv)) v(`${kv} received twice`);
      this.seen.add(kv);
      if (since !== null && !(s.server_timestamp > since)) v(`${kv} at ${s.server_timestamp} is not after the watermark`);
      if (!(s.server_timestamp > this.lastPosition))
        v(`${kv} at ${s.server_timestamp} not after the previous change at ${this.lastPosition}`);
      this.lastPosition = s.server_timestamp;
      const have = this.replica.get(k);
      if (have && s.version <= have.version) v(`${kv} is not newer than the replica's version ${have.version}`);
      if (s.action === 'create' && have) v(`${kv} comes as create but the replica has it (v${have.version})`);
      // `update` = the entity existed at `last_sync_at`. Only in a page after `has_more` can
      // that be an entity this device never got: created inside an earlier page's range but
      // changed again since, so its latest position lies after that page's cut.
      if (s.action === 'update' && !have && !this.continuing) v(`${kv} comes as update but the replica never had it`);
      if (s.action === 'update' && !have && this.continuing) this.upsertsAfterCut++;
      if (s.action === 'delete') this.replica.delete(k);
      else this.replica.set(k, { version: s.version, data: s.data! });
    }
    if (body.server_changes.length > 0 && body.last_sync_at < body.server_changes[body.server_changes.length - 1].server_timestamp) {
      v(`watermark ${body.last_sync_at} is before its own page`);
    }
    if (since !== null && body.last_sync_at < since) v(`watermark went back from ${since} to ${body.last_sync_at}`);
    this.history.push(
      `pull #${this.pulls} since ${since} -> ${body.last_sync_at}${body.has_more ? ' (has_more)' : ''}: ` +
        body.server_changes.map((s) => `${s.action} ${key(s.entity_type, s.entity_id)}@${s.version} at ${s.server_timestamp}`).join(', '),
    );
    this.watermark = body.last_sync_at;
    this.continuing = body.has_more;
    return body.has_more;
  }

  async drain(): Promise<void> {
    while (await this.pullOnce());
  }
}

/** A new device's first sync, paged: every live entity exactly once. */
async function freshFirstSync(t: TestApp, token: string, limit: number) {
  const replica = new Map<string, LiveRow>();
  const duplicates: string[] = [];
  let watermark: string | null = null;
  let pages = 0;
  for (;;) {
    const body: DeltaBody = await sync(t, token, { device_id: `fresh-${limit}-${Date.now()}`, last_sync_at: watermark, limit });
    pages++;
    for (const s of body.server_changes) {
      const k = key(s.entity_type, s.entity_id);
      if (s.action === 'delete') {
        replica.delete(k);
        continue;
      }
      if (replica.has(k)) duplicates.push(`${k}@${s.version}`);
      replica.set(k, { version: s.version, data: s.data! });
    }
    watermark = body.last_sync_at;
    if (!body.has_more) break;
  }
  return { replica, duplicates, pages };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------

// The project's testTimeout does not reach tests run with --selectProjects: set it here.
jest.setTimeout(60_000);

describe('sync concurrency (one family, many devices; several families)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
  });
  afterAll(() => t?.close());

  it('parallel writers on 6 devices, an incremental poller with limit 7: every commit exactly once, replica = server', async () => {
    const seed = Number(process.env.SYNC_CONCURRENCY_SEED ?? 20251111);
    const rng = prng(seed);
    const f = await createFamily(t, 'alice', 'Concurrent family');
    await f.addMember('bob');
    await f.addMember('carol');

    // Seed the shared entities every writer knows from the start.
    const seedTime = iso(Date.now() - 120_000);
    const seeded = await sync(t, f.token('alice'), {
      device_id: 'seeder',
      changes: [
        ...SHARED_TASKS.map((id) => ({
          entity_type: 'task',
          entity_id: id,
          action: 'create',
          data: { title: `task ${id}`, points: 5 },
          client_timestamp: seedTime,
        })),
        ...SHARED_EVENTS.map((id) => ({
          entity_type: 'event',
          entity_id: id,
          action: 'create',
          data: { title: `event ${id}`, start: '2030-01-01T09:00:00.000Z', end: '2030-01-01T18:00:00.000Z' },
          client_timestamp: seedTime,
        })),
      ],
    });
    expect(seeded.applied_count).toBe(SHARED_TASKS.length + SHARED_EVENTS.length);

    // The pollers start before the writers: first sync (everything), then incremental.
    const poller = new Poller(t, f.token('carol'), 'poller', 7);
    const smallPages = new Poller(t, f.token('bob'), 'poller-small-pages', 3);
    const pollers = [poller, smallPages];
    for (const p of pollers) {
      await p.drain();
      expect(p.replica.size).toBe(SHARED_TASKS.length + SHARED_EVENTS.length);
    }

    const writers: Writer[] = [
      ['alice-phone', 'alice'],
      ['alice-tablet', 'alice'],
      ['bob-phone', 'bob'],
      ['bob-laptop', 'bob'],
      ['carol-phone', 'carol'],
      ['carol-watch', 'carol'],
    ].map(([deviceId, user]) => ({
      deviceId,
      token: f.token(user),
      watermark: seeded.last_sync_at,
      versions: new Map([
        ...SHARED_TASKS.map((id) => [key('task', id), 1] as const),
        ...SHARED_EVENTS.map((id) => [key('event', id), 1] as const),
      ]),
      deleted: new Set<string>(),
      ownTasks: [],
      ownEvents: [],
      seq: 0,
    }));

    const ROUNDS = 10;
    const stats = { requests: 0, changes: 0, applied: 0, conflicts: 0, merged: 0, errors: [] as string[] };
    const runWriter = async (w: Writer) => {
      for (let round = 0; round < ROUNDS; round++) {
        // A burst of 1..2 parallel requests from the same device, as on a flaky network.
        const burst = rng.int(1, 2);
        await Promise.all(
          Array.from({ length: burst }, async () => {
            const changes = writerChanges(w, rng);
            const body = await sync(t, w.token, { device_id: w.deviceId, last_sync_at: w.watermark, changes });
            stats.requests++;
            stats.changes += changes.length;
            stats.applied += body.applied_count;
            stats.conflicts += body.conflicts.filter((c) => c.resolution !== 'merged').length;
            stats.merged += body.conflicts.filter((c) => c.resolution === 'merged').length;
            for (const e of body.errors) stats.errors.push(`${w.deviceId} ${e.entity_type}:${e.entity_id} ${e.code} ${e.message}`);
            // PROTOCOL 2: each change has exactly one outcome.
            const outcomes = body.applied.length + body.conflicts.filter((c) => c.resolution !== 'merged').length + body.errors.length;
            expect(outcomes).toBe(changes.length);
            learn(w, body);
          }),
        );
      }
    };

    let writing = true;
    const polling = pollers.map(async (p) => {
      while (writing) {
        const more = await p.pullOnce();
        if (!more) await sleep(2);
      }
    });
    const started = Date.now();
    try {
      await Promise.all(writers.map(runWriter));
    } finally {
      writing = false;
      await Promise.all(polling);
    }
    const writeMs = Date.now() - started;
    for (const p of pollers) {
      await p.drain();
      const before = p.received;
      await p.drain(); // a second pass brings nothing new
      expect(p.received).toBe(before);
    }

    const server = await liveTasksAndEvents(t, f.familyId);

    console.log(
      `concurrency seed ${seed}: ${stats.requests} requests / ${stats.changes} changes in ${writeMs} ms ` +
        `(applied ${stats.applied}, merged ${stats.merged}, conflicts ${stats.conflicts}); ` +
        pollers
          .map(
            (p) =>
              `${p.deviceId}: ${p.pulls} pulls, ${p.received} changes (${p.upsertsAfterCut} updates of unseen entities after a cut page); `,
          )
          .join('') +
        `live entities ${server.size}`,
    );

    expect(stats.errors).toEqual([]);
    expect(stats.conflicts).toBeGreaterThan(0); // the workload really collides
    for (const p of pollers.filter((x) => x.violations.length > 0)) {
      console.log(`poller history:\n${p.history.join('\n')}\nrows:\n${JSON.stringify(await positions(t, f.familyId))}`);
    }
    expect(pollers.map((p) => p.violations)).toEqual([[], []]);
    expect(sorted(onlyTasksAndEvents(poller.replica))).toEqual(sorted(server));
    expect(sorted(smallPages.replica)).toEqual(sorted(poller.replica));

    // A new device paging its first sync with limit 5 gets every live entity once.
    const fresh = await freshFirstSync(t, f.token('bob'), 5);
    expect(fresh.duplicates).toEqual([]);
    expect(fresh.pages).toBeGreaterThan(1);
    expect(sorted(onlyTasksAndEvents(fresh.replica))).toEqual(sorted(server));
    // Every type the poller saw (server-computed rows too) matches what a new device sees.
    expect(sorted(fresh.replica)).toEqual(sorted(poller.replica));
  });

  it('two families never wait for each other; a held family lock delays only that family', async () => {
    const a = await createFamily(t, 'anna', 'Family A');
    const b = await createFamily(t, 'boris', 'Family B');
    const now = () => new Date().toISOString();
    const create = (id: string) => ({ entity_type: 'task', entity_id: id, action: 'create', data: { title: id }, client_timestamp: now() });
    // The first sync of each family creates its lock row.
    await sync(t, a.token(), { device_id: 'a1', changes: [create('a-0')] });
    await sync(t, b.token(), { device_id: 'b1', changes: [create('b-0')] });

    const holder = new Client({ connectionString: t.db.url });
    await holder.connect();
    let released = false;
    try {
      await holder.query('BEGIN');
      const locked = await holder.query('SELECT family_id FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [a.familyId]);
      expect(locked.rowCount).toBe(1);

      let aDoneAt: number | undefined;
      const aRequest = sync(t, a.token(), { device_id: 'a1', changes: [create('a-1')] }).then((body) => {
        aDoneAt = Date.now();
        return body;
      });
      await sleep(100); // A's request is now waiting for the lock

      // Family B is not blocked: several syncs with writes complete promptly.
      for (let i = 1; i <= 3; i++) {
        const startedAt = Date.now();
        const body = await sync(t, b.token(), { device_id: 'b1', changes: [create(`b-${i}`)] });
        expect(body.applied).toEqual([expect.objectContaining({ entity_id: `b-${i}`, version: 1 })]);
        expect(Date.now() - startedAt).toBeLessThan(2000);
      }
      await sleep(400);
      expect(aDoneAt).toBeUndefined();

      const releasedAt = Date.now();
      await holder.query('COMMIT');
      released = true;
      const aBody = await aRequest;
      expect(aDoneAt).toBeDefined();
      expect(aDoneAt!).toBeGreaterThanOrEqual(releasedAt);
      expect(aBody.applied).toEqual([expect.objectContaining({ entity_id: 'a-1', version: 1 })]);
    } finally {
      if (!released) await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  describe('same-family serialisation: N parallel updates based on the same version', () => {
    const N = 8;
    let f: FamilyFixture;
    beforeAll(async () => {
      f = await createFamily(t, 'alice', 'Serial family');
    });

    async function race(id: string, timestamps: string[]) {
      const base = new Date(Date.now() - 600_000).toISOString();
      const created = await sync(t, f.token(), {
        device_id: 'creator',
        changes: [{ entity_type: 'task', entity_id: id, action: 'create', data: { title: 'original', points: 1 }, client_timestamp: base }],
      });
      expect(created.applied).toEqual([expect.objectContaining({ version: 1 })]);
      const bodies = await Promise.all(
        timestamps.map((ts, i) =>
          sync(t, f.token(), {
            device_id: `racer-${i}`,
            last_sync_at: created.last_sync_at,
            changes: [
              { entity_type: 'task', entity_id: id, action: 'update', version: 1, data: { title: `racer ${i}` }, client_timestamp: ts },
            ],
          }),
        ),
      );
      const [row]: { version: number; data: Record<string, unknown> }[] = await t.app
        .get(DataSource)
        .query('SELECT version, data FROM tasks WHERE family_id = $1 AND id = $2', [f.familyId, id]);
      return { bodies, row };
    }

    it('equal client timestamps: exactly one applied, the others lose with Version mismatch', async () => {
      const ts = new Date(Date.now() - 60_000).toISOString();
      const { bodies, row } = await race(
        'same-ts',
        Array.from({ length: N }, () => ts),
      );
      const applied = bodies.filter((b) => b.applied.length === 1);
      expect(applied).toHaveLength(1);
      expect(applied[0]).toMatchObject({ success: true, conflicts: [], applied: [{ entity_id: 'same-ts', version: 2 }] });
      const winner = applied[0].applied[0];
      expect(winner.data).toBeUndefined(); // based on the current version: no data needed
      for (const b of bodies.filter((x) => x !== applied[0])) {
        expect(b.applied).toEqual([]);
        expect(b.conflicts).toEqual([
          expect.objectContaining({
            entity_id: 'same-ts',
            resolution: 'server_wins',
            conflict_reason: 'Version mismatch',
            client_version: 1,
            server_version: 2,
            rejected_fields: ['title'],
            server_data: row.data,
          }),
        ]);
      }
      expect(row.version).toBe(2);
      // The winner's title is the one stored.
      const winnerIndex = bodies.indexOf(applied[0]);
      expect(row.data.title).toBe(`racer ${winnerIndex}`);
    });

    it('distinct client timestamps: one version-1 write, later newer writes win by LWW; final version = 1 + applied', async () => {
      const now = Date.now();
      // Distinct times in a random order; index -> time.
      const offsets = Array.from({ length: N }, (_, i) => i).sort(() => Math.random() - 0.5);
      const timestamps = offsets.map((o) => new Date(now - 60_000 + o * 1000).toISOString());
      const { bodies, row } = await race('lww', timestamps);
      let appliedCount = 0;
      const versions: number[] = [];
      for (const b of bodies) {
        expect(b.errors).toEqual([]);
        if (b.applied.length === 1) {
          appliedCount++;
          versions.push(b.applied[0].version);
          expect(b.conflicts).toEqual([]);
        } else {
          expect(b.applied).toEqual([]);
          expect(b.conflicts).toEqual([
            expect.objectContaining({ resolution: 'server_wins', conflict_reason: 'Version mismatch', rejected_fields: ['title'] }),
          ]);
        }
      }
      // Exactly one change was based on the current version (applied without data); every
      // other applied one won by a newer timestamp and carries the resulting state.
      const byCurrent = bodies.filter((b) => b.applied.length === 1 && b.applied[0].data === undefined);
      expect(byCurrent).toHaveLength(1);
      expect(byCurrent[0].applied[0].version).toBe(2);
      expect(versions.sort((x, y) => x - y)).toEqual(Array.from({ length: appliedCount }, (_, i) => i + 2));
      expect(row.version).toBe(1 + appliedCount);
      // The newest timestamp wins the field in the end.
      const newest = offsets.indexOf(N - 1);
      expect(row.data.title).toBe(`racer ${newest}`);
    });
  });
});
