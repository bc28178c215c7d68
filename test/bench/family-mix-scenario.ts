import { clusterSeconds, clusterSplit, ClusterSplit, cpuSeconds, postmasterOf, rssMb } from './cpu';
import { createFamily, DeltaResponse, Device } from './fixtures';
import { FamilyDevice } from './family-workload';
import { HttpClient } from './http';
import type { BenchContext } from './scenarios';
import { round, Summary, summarize } from './stats';

const FAMILIES = 10;
const DEVICES_PER_FAMILY = 4;
const CHANGES_PER_REQUEST = 10;
const PULL_LIMIT = 100;

interface MixDevice {
  familyId: string;
  http: HttpClient;
  device: Device;
  model: FamilyDevice;
}

/** What one steady window measured: counts, latency, and CPU per process divided by the work. */
export interface LoadWindow {
  /** empty: closed-loop syncs with no changes and nothing new (the cheapest request there is). */
  mode: 'closed' | 'open' | 'empty';
  /** Open loop: requests started per second (fixed, from the schedule). */
  offeredPerSecond?: number;
  seconds: number;
  pushes: number;
  /** Follow-up pulls (`has_more`) in the window. */
  pulls: number;
  changes: number;
  applied: number;
  conflicts: number;
  errors: number;
  pushesPerSecond: number;
  /** Push latency; open loop: from the scheduled start. */
  latency: Summary;
  cpu: { serviceMsPerRequest: number; postgresMsPerRequest: number; postgresMsPerChange: number; benchMsPerRequest: number };
  /** service CPU / PostgreSQL CPU. */
  serviceToPostgres: number;
}

export interface FamilyMixResult {
  devices: number;
  families: number;
  changesPerRequest: number;
  /** Syncs with nothing to push or pull: the per-request cost of the HTTP layer, auth and the pull. */
  empty: LoadWindow;
  closed: LoadWindow;
  open?: LoadWindow;
  /** After the runs, every device pulled to the end: entities whose version differs from the database's. */
  convergenceMismatches: number;
  entities: number;
}

interface Counters {
  pushes: number;
  pulls: number;
  changes: number;
  applied: number;
  conflicts: number;
  errors: number;
  latencies: number[];
  samples: string[];
}

/**
 * BENCH_PATCHES=1: every request asks for patches (PROTOCOL 2.10), as the SDK does by default.
 * The devices' models then hold patched entities' fields only partly (versions stay exact).
 */
const PULL = { limit: PULL_LIMIT, ...(process.env.BENCH_PATCHES === '1' ? { patches: true } : {}) };

const counters = (): Counters => ({ pushes: 0, pulls: 0, changes: 0, applied: 0, conflicts: 0, errors: 0, latencies: [], samples: [] });

/** One device round: its 10 changes with the pull, then follow-up pulls while `has_more`. */
async function deviceRound(d: MixDevice, into: Counters | undefined, startedAt?: number, empty = false): Promise<void> {
  const changes = empty ? [] : d.model.nextChanges(CHANGES_PER_REQUEST);
  const res = await d.device.delta(changes, PULL);
  if (res.status !== 200) {
    if (into) into.errors++;
    if (into && into.samples.length < 3) into.samples.push(`HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    return;
  }
  const body = res.body;
  d.model.absorb(changes, body as Parameters<FamilyDevice['absorb']>[1]);
  if (into) {
    into.pushes++;
    into.changes += changes.length;
    into.applied += body.applied_count;
    into.conflicts += body.conflicts.length;
    into.errors += body.error_count;
    into.latencies.push(startedAt === undefined ? res.ms : performance.now() - startedAt);
  }
  await pullToEnd(d, body, into);
}

async function pullToEnd(d: MixDevice, last: DeltaResponse, into?: Counters): Promise<void> {
  while (last.has_more) {
    const res = await d.device.delta([], PULL);
    if (res.status !== 200) throw new Error(`family mix pull: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    d.model.absorb([], res.body as Parameters<FamilyDevice['absorb']>[1]);
    if (into) into.pulls++;
    last = res.body;
  }
}

/** Service, PostgreSQL cluster and bench CPU seconds now. */
function cpuNow(servicePid: number, postmaster: number | undefined) {
  const own = process.cpuUsage();
  return {
    service: cpuSeconds(servicePid),
    postgres: postmaster === undefined ? Number.NaN : clusterSeconds(postmaster),
    bench: (own.user + own.system) / 1e6,
  };
}

/**
 * Runs every device for `warmup + seconds`; counts and CPU only over the steady window after
 * the warm-up. Closed loop: each device sends its next round as soon as the last one ends.
 * Open loop: rounds are scheduled at `offered` per second in all (each device its share,
 * phases spread), latency from the scheduled start, so a slow service shows as queueing.
 */
async function loadWindow(
  ctx: BenchContext,
  devices: MixDevice[],
  postmaster: number | undefined,
  warmup: number,
  seconds: number,
  offered?: number,
  empty = false,
): Promise<LoadWindow> {
  const start = performance.now();
  const steadyFrom = start + warmup * 1000;
  const until = steadyFrom + seconds * 1000;
  const c = counters();
  let cpuStart: ReturnType<typeof cpuNow> | undefined;
  const timer = setTimeout(() => (cpuStart = cpuNow(ctx.servicePid, postmaster)), warmup * 1000);
  const interval = offered ? (devices.length / offered) * 1000 : 0;
  await Promise.all(
    devices.map(async (d, i) => {
      for (let n = 0; ; n++) {
        let scheduled: number | undefined;
        if (offered) {
          scheduled = start + (i / devices.length) * interval + n * interval;
          const wait = scheduled - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const began = scheduled ?? performance.now();
        if (began >= until) break;
        await deviceRound(d, began >= steadyFrom ? c : undefined, scheduled, empty);
      }
    }),
  );
  clearTimeout(timer);
  const end = cpuNow(ctx.servicePid, postmaster);
  const from = cpuStart ?? end;
  const wall = (performance.now() - steadyFrom) / 1000;
  const requests = c.pushes + c.pulls;
  const per = (s: number, n: number) => (n === 0 ? Number.NaN : round((s * 1000) / n)); // NaN: reported as '-'
  for (const s of c.samples) ctx.log(`family mix error sample: ${s}`);
  return {
    mode: empty ? 'empty' : offered ? 'open' : 'closed',
    offeredPerSecond: offered ? round(offered) : undefined,
    seconds: round(wall),
    pushes: c.pushes,
    pulls: c.pulls,
    changes: c.changes,
    applied: c.applied,
    conflicts: c.conflicts,
    errors: c.errors,
    pushesPerSecond: round(c.pushes / wall),
    latency: summarize(c.latencies),
    cpu: {
      serviceMsPerRequest: per(end.service - from.service, requests),
      postgresMsPerRequest: per(end.postgres - from.postgres, requests),
      postgresMsPerChange: per(end.postgres - from.postgres, c.changes),
      benchMsPerRequest: per(end.bench - from.bench, requests),
    },
    serviceToPostgres: round((end.service - from.service) / (end.postgres - from.postgres)),
  };
}

/** 40 devices in 10 families, signed up through the API, each with its first sync done. */
export async function familyDevices(ctx: BenchContext, tag: string): Promise<MixDevice[]> {
  const devices: MixDevice[] = [];
  for (let f = 0; f < FAMILIES; f++) {
    const family = await createFamily(ctx.http, `${tag}-owner-${f}`, `bench ${tag} ${f}`);
    for (let d = 0; d < DEVICES_PER_FAMILY; d++) {
      const token = d === 0 ? family.token() : await family.addMember(`${tag}-user-${f}-${d}`);
      const http = new HttpClient(ctx.baseUrl, 1);
      const deviceId = `${tag}-${f}-${d}`;
      const device = new Device(http, deviceId, token);
      devices.push({ familyId: family.familyId, http, device, model: new FamilyDevice(deviceId) });
    }
  }
  return devices;
}

/** Pulls every device to the end and counts entities whose version differs from the database's. */
export async function convergence(ctx: BenchContext, devices: MixDevice[]): Promise<{ mismatches: number; entities: number }> {
  for (const d of devices) {
    const res = await d.device.delta([], { limit: PULL_LIMIT });
    if (res.status !== 200) throw new Error(`family mix final pull: HTTP ${res.status}`);
    d.model.absorb([], res.body as Parameters<FamilyDevice['absorb']>[1]);
    await pullToEnd(d, res.body);
  }
  let mismatches = 0;
  let entities = 0;
  for (const familyId of new Set(devices.map((d) => d.familyId))) {
    const { rows } = await ctx.db.query<{ key: string; version: number }>(
      `SELECT 'task:' || id AS key, version FROM tasks WHERE family_id = $1 AND deleted_us IS NULL
       UNION ALL SELECT 'event:' || id, version FROM events WHERE family_id = $1 AND deleted_us IS NULL`,
      [familyId],
    );
    const truth = new Map(rows.map((r) => [r.key, Number(r.version)]));
    entities += truth.size;
    for (const d of devices.filter((x) => x.familyId === familyId)) {
      const replica = d.model.replica();
      for (const [key, version] of truth) if (replica.get(key) !== version) mismatches++;
      for (const key of replica.keys()) if (!truth.has(key)) mismatches++;
    }
  }
  return { mismatches, entities };
}

/** The PostgreSQL cluster's postmaster, found as the parent of one of our backends (undefined when not local). */
export async function benchPostmaster(ctx: BenchContext): Promise<number | undefined> {
  const { rows } = await ctx.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return postmasterOf(rows[0].pid);
}

/**
 * Scenario 7, the family mix: a closed-loop window (saturation: as fast as 40 devices go),
 * then an open-loop window at 60% of that rate (latency at a fixed load), then convergence.
 */
export async function familyMixScenario(ctx: BenchContext): Promise<FamilyMixResult> {
  const warmup = ctx.quick ? 3 : 10;
  const seconds = ctx.quick ? 10 : 30;
  const devices = await familyDevices(ctx, 'fam');
  const postmaster = await benchPostmaster(ctx);
  ctx.log(`scenario 7: empty syncs, ${devices.length} devices, ${warmup} + ${seconds} s`);
  const empty = await loadWindow(ctx, devices, postmaster, warmup, seconds, undefined, true);
  ctx.log(`scenario 7: family mix, ${devices.length} devices in ${FAMILIES} families, closed loop ${warmup} + ${seconds} s`);
  const closed = await loadWindow(ctx, devices, postmaster, warmup, seconds);
  const offered = 0.6 * closed.pushesPerSecond;
  ctx.log(`scenario 7: open loop at ${round(offered)} rounds/s (60% of ${closed.pushesPerSecond}), ${warmup} + ${seconds} s`);
  const open = await loadWindow(ctx, devices, postmaster, warmup, seconds, offered);
  const { mismatches, entities } = await convergence(ctx, devices);
  for (const d of devices) d.http.close();
  return {
    devices: devices.length,
    families: FAMILIES,
    changesPerRequest: CHANGES_PER_REQUEST,
    empty,
    closed,
    open,
    convergenceMismatches: mismatches,
    entities,
  };
}

type StatementTimes = Map<string, { query: string; calls: number; ms: number; blocks: number; rows: number }>;

/**
 * pg_stat_statements' counters, where the server loads it (BENCH_PG_SETTINGS=
 * shared_preload_libraries=pg_stat_statements): which statement grows. Elsewhere nothing.
 */
async function statementTimes(ctx: BenchContext): Promise<{ read(): Promise<StatementTimes> }> {
  try {
    await ctx.db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await ctx.db.query('SELECT pg_stat_statements_reset()');
  } catch {
    return { read: async () => new Map() };
  }
  return {
    read: async () => {
      const { rows } = await ctx.db.query<{ id: string; query: string; calls: number; ms: number; blocks: number; rows: number }>(
        `SELECT queryid::text AS id, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query, calls::float8 AS calls, total_exec_time AS ms,
                (shared_blks_hit + shared_blks_read)::float8 AS blocks, rows::float8 AS rows
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      return new Map(rows.map((r) => [r.id, { query: r.query, calls: r.calls, ms: r.ms, blocks: r.blocks, rows: r.rows }]));
    },
  };
}

/** The `count` statements that took the most time between two readings. */
function topStatements(before: StatementTimes, after: StatementTimes, count: number): string[] {
  const deltas = [...after].map(([id, a]) => {
    const b = before.get(id);
    const since = (k: 'calls' | 'ms' | 'blocks' | 'rows') => a[k] - (b?.[k] ?? 0);
    return { query: a.query, calls: since('calls'), ms: since('ms'), blocks: since('blocks'), rows: since('rows') };
  });
  const total = deltas.reduce((sum, d) => sum + d.ms, 0);
  return deltas
    .filter((d) => d.calls > 0)
    .sort((x, y) => y.ms - x.ms)
    .slice(0, count)
    .map(
      (d) =>
        `${round(d.ms / d.calls)} ms ${round(d.blocks / d.calls)} buffers ${round(d.rows / d.calls)} rows ${Math.round((d.ms / total) * 100)}% "${d.query}"`,
    );
}

/** The soak: the closed-loop mix for `minutes`, throughput and the service's memory per minute. */
export async function familySoak(
  ctx: BenchContext,
  minutes: number,
): Promise<{ perMinute: { pushes: number; rssMb: number }[]; ratio: number }> {
  const devices = await familyDevices(ctx, 'soak');
  const postmaster = await benchPostmaster(ctx);
  const perMinute: { pushes: number; rssMb: number }[] = [];
  // What of PostgreSQL grows: its CPU per request by process kind, autovacuum runs and the database's size, per minute.
  // pg_stat_wal and pg_stat_database are cluster/database-wide counters: the bench's database is the only busy one.
  const serverCounters = async () =>
    (
      await ctx.db.query<{ runs: number; mb: number; walBytes: number; fpi: number; read: number; checkpoints: number; slruRead: number }>(
        `SELECT (SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0)::int FROM pg_stat_user_tables) AS runs,
                round(pg_database_size(current_database()) / 1048576.0)::int AS mb,
                (SELECT wal_bytes::float8 FROM pg_stat_wal) AS "walBytes", (SELECT wal_fpi::float8 FROM pg_stat_wal) AS fpi,
                (SELECT blks_read::float8 FROM pg_stat_database WHERE datname = current_database()) AS read,
                (SELECT (checkpoints_timed + checkpoints_req)::int FROM pg_stat_bgwriter) AS checkpoints,
                (SELECT coalesce(sum(blks_read), 0)::float8 FROM pg_stat_slru) AS "slruRead"`,
      )
    ).rows[0];
  let split = postmaster === undefined ? undefined : clusterSplit(postmaster);
  let counts = await serverCounters();
  const statements = await statementTimes(ctx);
  let times = await statements.read();
  for (let m = 0; m < minutes; m++) {
    const w = await loadWindow(ctx, devices, postmaster, 0, 60);
    perMinute.push({ pushes: w.pushes, rssMb: rssMb(ctx.servicePid) });
    const { serviceMsPerRequest: svc, postgresMsPerRequest: pg, benchMsPerRequest: bench } = w.cpu;
    const nextSplit = postmaster === undefined ? undefined : clusterSplit(postmaster);
    const nextCounts = await serverCounters();
    const requests = w.pushes + w.pulls;
    const per = (k: keyof ClusterSplit) => (split && nextSplit ? round(((nextSplit[k] - split[k]) * 1000) / requests) : Number.NaN);
    ctx.log(
      `soak minute ${m + 1}/${minutes}: ${w.pushes} rounds, ${w.pushesPerSecond}/s, p99 ${round(w.latency.p99)} ms, ` +
        `CPU ms/request service ${svc} / postgres ${pg} (backends ${per('backends')}, autovacuum and exited ${per('autovacuum')}, ` +
        `background ${per('background')}) / bench ${bench}, service RSS ${perMinute[m].rssMb} MB, ` +
        `autovacuum/analyze runs +${nextCounts.runs - counts.runs}, database ${nextCounts.mb} MB; per request: WAL ` +
        `${round((nextCounts.walBytes - counts.walBytes) / 1024 / requests)} kB, full-page images ${round((nextCounts.fpi - counts.fpi) / requests)}, ` +
        `blocks read ${round((nextCounts.read - counts.read) / requests)}, SLRU pages read ${round((nextCounts.slruRead - counts.slruRead) / requests)}; ` +
        `checkpoints +${nextCounts.checkpoints - counts.checkpoints}`,
    );
    const nextTimes = await statements.read();
    const top = topStatements(times, nextTimes, 4);
    if (top.length > 0) ctx.log(`soak minute ${m + 1} statements (per call: ms, buffers, rows; share of the time): ${top.join('; ')}`);
    times = nextTimes;
    split = nextSplit;
    counts = nextCounts;
  }
  const { rows: largest } = await ctx.db.query<{ name: string; mb: number }>(
    `SELECT c.relname AS name, round(pg_total_relation_size(c.oid) / 1048576.0)::int AS mb
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 6`,
  );
  ctx.log(`soak: largest tables (with indexes and TOAST) ${largest.map((t) => `${t.name} ${t.mb} MB`).join(', ')}`);
  const { mismatches } = await convergence(ctx, devices);
  if (mismatches > 0) throw new Error(`soak: ${mismatches} entities differ from the database after convergence`);
  for (const d of devices) d.http.close();
  return { perMinute, ratio: round(perMinute[perMinute.length - 1].pushes / perMinute[0].pushes) };
}
