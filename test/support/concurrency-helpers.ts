import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from './test-app';
import type { DeltaResponseDto as DeltaBody } from '../../apps/api/src/sync/dto/delta-response.dto';
import type { SyncChangeInput } from '../../apps/api/src/sync/dto/delta-request';
import { LiveRow } from './db-state';

/**
 * Helpers of the concurrency suites (sync-concurrency*.e2e-spec.ts): a tiny client, a seeded
 * PRNG, an exactly-once poller and a fresh device's first sync. The random writers are in
 * concurrency-writer-helpers.ts.
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
