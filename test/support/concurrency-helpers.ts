import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from './test-app';
import type { DeltaResponseDto as DeltaBody } from '../../apps/api/src/sync/dto/delta-response.dto';
import type { SyncChangeInput } from '../../apps/api/src/sync/dto/delta-request';
import { LiveRow } from './db-state';

/**
 * Helpers of the concurrency suites (sync-concurrency*.e2e-spec.ts): a tiny client, random
 * writers, an exactly-once poller and a fresh device's first sync.
 */

// ---------------------------------------------------------------------------------------
// Wire types and a tiny client

export type WireChange = SyncChangeInput;

export async function postDelta(t: TestApp, token: string, body: Record<string, unknown>): Promise<{ status: number; body: DeltaBody }> {
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
export async function sync(t: TestApp, token: string, body: Record<string, unknown>): Promise<DeltaBody> {
  const res = await postDelta(t, token, body);
  if (res.status !== 200)
    throw new Error(`POST /sync/delta -> ${res.status}: ${JSON.stringify(res.body)}\nrequest: ${JSON.stringify(body)}`);
  return res.body;
}

/** Deterministic PRNG (mulberry32), so a failing run can be replayed with the printed seed. */
export function prng(seed: number) {
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
export type Rng = ReturnType<typeof prng>;

export const key = (type: string, id: string) => `${type}:${id}`;
export const iso = (ms: number) => new Date(ms).toISOString();

/** Commit positions of every row of the family, in commit order (for the failure report). */
export async function positions(t: TestApp, familyId: string) {
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

export const onlyTasksAndEvents = (m: Map<string, LiveRow>) =>
  new Map([...m].filter(([k]) => k.startsWith('task:') || k.startsWith('event:')));

export const sorted = (m: Map<string, LiveRow>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

// ---------------------------------------------------------------------------------------
// Writers: devices that push random changes with correct or stale versions

export interface Writer {
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

export const SHARED_TASKS = Array.from({ length: 10 }, (_, i) => `T${i}`);
export const SHARED_EVENTS = Array.from({ length: 6 }, (_, i) => `E${i}`);
export const SHARED_CREATES = Array.from({ length: 5 }, (_, i) => `S${i}`);
export const USERS = ['alice', 'bob', 'carol'];

export function taskPatch(rng: Rng, nowMs: number): Record<string, unknown> {
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

export function eventPatch(rng: Rng): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (rng.chance(0.6)) patch.title = `event-${rng.int(0, 999)}`;
  if (rng.chance(0.4)) patch.description = `about-${rng.int(0, 999)}`;
  if (rng.chance(0.3)) patch.attendees = USERS.filter(() => rng.chance(0.5));
  if (Object.keys(patch).length === 0) patch.title = `event-${rng.int(0, 999)}`;
  return patch;
}

/** 3..6 changes of one request. */
export function writerChanges(w: Writer, rng: Rng): WireChange[] {
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

export function learn(w: Writer, body: DeltaBody): void {
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

export class Poller {
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
export async function freshFirstSync(t: TestApp, token: string, limit: number) {
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A concurrency suite: its own app (rate limit 1000000), started before the tests and closed
 * after. Call it inside the suite's describe; `app()` is the running app.
 */
export function concurrencySuite() {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
  });
  afterAll(() => t?.close());

  return { app: () => t };
}
