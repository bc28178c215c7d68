import { Client } from 'pg';
import { CpuShare, cpuShare, cpuSnapshot } from './cpu';
import { ActivityProfile, groupCommits, probeLiveness, sampleActivity } from './diagnostics';
import {
  BenchFamily,
  createData,
  createFamily,
  DeltaResponse,
  Device,
  ids,
  stalePatch,
  storedAfterCreate,
  taskCreate,
  taskUpdate,
  updatePatch,
  WireChange,
} from './fixtures';
import { createdRow, Floor, FloorRow, patchedRow } from './floor';
import { HttpClient } from './http';
import { round, Summary, summarize } from './stats';

export interface BenchContext {
  quick: boolean;
  baseUrl: string;
  /** Shared keep-alive client for set-up requests and the single-device scenarios. */
  http: HttpClient;
  floor: Floor;
  /** A second connection for checks and EXPLAIN (the floor's connection stays dedicated). */
  db: Client;
  servicePid: number;
  log(message: string): void;
}

/** A service measurement next to its SQL floor. */
export interface PairResult {
  key: string;
  label: string;
  /** Changes (or rows) per request / per run. */
  size: number;
  service: Summary;
  floor: Summary;
  /** service median / floor median. */
  ratio: number;
  cpu?: CpuShare;
  notes: string[];
}

export interface MixedResult {
  durationSeconds: number;
  devices: number;
  families: number;
  changesPerRequest: number;
  requests: number;
  changes: number;
  applied: number;
  conflicts: number;
  changeErrors: number;
  httpErrors: number;
  networkErrors: number;
  serverChangesReceived: number;
  requestsPerSecond: number;
  changesPerSecond: number;
  latency: Summary;
  cpu: CpuShare;
  /** The service's pool connections during the run (pg_stat_activity samples). */
  connections: ActivityProfile;
  /** GET /health/live latency during the run (event-loop responsiveness). */
  liveness: Summary;
  /** Pushes per group commit during the run (mean). */
  pushesPerCommit: number;
  errorSamples: string[];
}

export interface FirstSyncExtra {
  entities: number;
  pages: number;
  seedSeconds: number;
  perPage: Summary;
  floorPerPage: Summary;
  /** The keyset-paged floor (the floor before issue 13): all pages, and the service's ratio to it. */
  pagedFloor: Summary;
  pagedRatio: number;
}

const usOf = (iso: string) => Date.parse(iso) * 1000;

function pair(
  key: string,
  label: string,
  size: number,
  service: number[],
  floor: number[],
  notes: string[] = [],
  cpu?: CpuShare,
): PairResult {
  const s = summarize(service);
  const f = summarize(floor);
  return { key, label, size, service: s, floor: f, ratio: round(s.median / f.median), cpu, notes };
}

/** Counts rows of the service family that equal the floor family's row of the same id (data, version, clock fields). */
async function sameShape(ctx: BenchContext, serviceFamily: string, floorFamily: string, idPrefix: string): Promise<string> {
  const { rows } = await ctx.db.query(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE s.data = f.data AND s.version = f.version
                             AND (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(s.field_clocks) k)
                               = (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(f.field_clocks) k))::int AS same,
            round(avg(pg_column_size(s.data))) AS s_data, round(avg(pg_column_size(f.data))) AS f_data,
            round(avg(pg_column_size(s.field_clocks))) AS s_clocks, round(avg(pg_column_size(f.field_clocks))) AS f_clocks
     FROM tasks s JOIN tasks f ON f.family_id = $2 AND f.id = s.id
     WHERE s.family_id = $1 AND s.id LIKE $3`,
    [serviceFamily, floorFamily, `${idPrefix}%`],
  );
  const r = rows[0];
  return (
    `row shape check (${idPrefix}*): ${r.same}/${r.total} service rows equal the floor's (data, version, clock fields); ` +
    `avg jsonb bytes data ${r.s_data} vs ${r.f_data}, field_clocks ${r.s_clocks} vs ${r.f_clocks}`
  );
}

/** Scenarios 1 and 2: 500 creates, 500 updates on the current versions, 500 stale updates. */
export async function pushScenarios(ctx: BenchContext): Promise<PairResult[]> {
  const iterations = ctx.quick ? 5 : 25;
  const warmups = ctx.quick ? 1 : 3;
  const batch = 500;
  const svcFamily = await createFamily(ctx.http, 'bench-push-owner', 'bench push (service)');
  const floorFamily = await createFamily(ctx.http, 'bench-push-floor', 'bench push (floor)');
  const device = new Device(ctx.http, 'bench-push-device', svcFamily.token());
  await device.delta([]); // the device's watermark
  const results: PairResult[] = [];

  // 1a. creates
  ctx.log(`scenario 1: push of ${batch} task creates, ${warmups} warm-up + ${iterations} runs`);
  const svcMs: number[] = [];
  const floorMs: number[] = [];
  let lastIds: string[] = [];
  let floorRows: FloorRow[] = [];
  let cpuStart = cpuSnapshot(ctx.servicePid);
  for (let it = -warmups; it < iterations; it++) {
    const batchIds = ids(it < 0 ? `pw${-it}` : `pc${it}`, batch);
    const at = new Date().toISOString();
    const res = await device.pushApplied(
      batchIds.map((id) => taskCreate(id, at)),
      'push 500 creates',
    );
    const rows = batchIds.map((id) => createdRow(id, storedAfterCreate(id), usOf(at)));
    const fl = await ctx.floor.upsert(floorFamily.familyId, rows);
    if (fl.rowCount !== batch) throw new Error(`floor create: ${fl.rowCount} rows written, expected ${batch}`);
    if (it === -1) cpuStart = cpuSnapshot(ctx.servicePid);
    if (it < 0) continue;
    svcMs.push(res.ms);
    floorMs.push(fl.ms);
    lastIds = batchIds;
    floorRows = rows;
  }
  const createCpu = cpuShare(cpuStart, cpuSnapshot(ctx.servicePid));
  const createCheck = await sameShape(ctx, svcFamily.familyId, floorFamily.familyId, `pc${iterations - 1}-`);
  results.push(pair('push_create_500', 'push 500 creates', batch, svcMs, floorMs, [createCheck], createCpu));

  // 1b. updates on the current version (always the same 500 tasks: the last created batch)
  ctx.log(`scenario 1: push of ${batch} task updates (versions match), ${warmups} warm-up + ${iterations} runs`);
  const versions = new Map(lastIds.map((id) => [id, 1]));
  const svcUpd: number[] = [];
  const floorUpd: number[] = [];
  cpuStart = cpuSnapshot(ctx.servicePid);
  for (let it = -warmups; it < iterations; it++) {
    const rev = it + warmups + 1;
    const at = new Date().toISOString();
    const changes = lastIds.map((id) => taskUpdate(id, versions.get(id)!, updatePatch(id, rev), at));
    const res = await device.pushApplied(changes, 'push 500 updates');
    for (const a of res.body.applied) versions.set(a.entity_id, a.version);
    floorRows = floorRows.map((row) => patchedRow(row, updatePatch(row.id, rev), usOf(at)));
    const fl = await ctx.floor.upsert(floorFamily.familyId, floorRows);
    if (fl.rowCount !== batch) throw new Error(`floor update: ${fl.rowCount} rows written, expected ${batch}`);
    if (it === -1) cpuStart = cpuSnapshot(ctx.servicePid);
    if (it < 0) continue;
    svcUpd.push(res.ms);
    floorUpd.push(fl.ms);
  }
  const updateCpu = cpuShare(cpuStart, cpuSnapshot(ctx.servicePid));
  const updateCheck = await sameShape(ctx, svcFamily.familyId, floorFamily.familyId, `pc${iterations - 1}-`);
  results.push(pair('push_update_500', 'push 500 updates', batch, svcUpd, floorUpd, [updateCheck], updateCpu));

  // 2. every version stale, every field older than the server's: 500 server_wins conflicts, nothing written
  ctx.log(`scenario 2: push of ${batch} stale updates (conflicts), ${warmups} warm-up + ${iterations} runs`);
  const svcStale: number[] = [];
  const floorStale: number[] = [];
  cpuStart = cpuSnapshot(ctx.servicePid);
  for (let it = -warmups; it < iterations; it++) {
    // A distinct (old) client time per run: otherwise the change key repeats and the
    // service would answer from its retry receipts instead of resolving the conflict.
    const at = new Date(Date.UTC(2020, 0, 1) + (it + warmups) * 1000).toISOString();
    const changes = lastIds.map((id) => taskUpdate(id, versions.get(id)! - 1, stalePatch(id, it), at));
    const res = await device.delta(changes);
    if (res.status !== 200) throw new Error(`stale push: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    const serverWins = res.body.conflicts.filter((c) => c.resolution === 'server_wins').length;
    if (serverWins !== batch || res.body.applied_count !== 0) {
      throw new Error(`stale push: expected ${batch} server_wins conflicts, got ${serverWins} (applied ${res.body.applied_count})`);
    }
    // The state the stale change would have written, with the client's (stale) version + 1.
    const staleRows = floorRows.map((row) => patchedRow({ ...row, version: row.version - 1 }, stalePatch(row.id, it), usOf(at)));
    const fl = await ctx.floor.upsert(floorFamily.familyId, staleRows);
    if (fl.rowCount !== 0) throw new Error(`floor stale: ${fl.rowCount} rows written, expected 0`);
    if (it === -1) cpuStart = cpuSnapshot(ctx.servicePid);
    if (it < 0) continue;
    svcStale.push(res.ms);
    floorStale.push(fl.ms);
  }
  const staleCpu = cpuShare(cpuStart, cpuSnapshot(ctx.servicePid));
  results.push(
    pair(
      'push_stale_500',
      'push 500 stale updates',
      batch,
      svcStale,
      floorStale,
      ['service: 500 server_wins conflicts per run (receipts written); floor: the same upsert, whose version check updates 0 rows'],
      staleCpu,
    ),
  );
  return results;
}

/** Scenario 3: first sync of a family holding `entities` tasks, paged with the default limit (1000). */
export async function firstSyncScenario(ctx: BenchContext): Promise<{ result: PairResult; extra: FirstSyncExtra; explain: string }> {
  const entities = 10_000;
  const iterations = ctx.quick ? 3 : 10;
  const warmups = ctx.quick ? 1 : 2;
  const family = await createFamily(ctx.http, 'bench-sync-owner', 'bench first sync');
  const seeder = new Device(ctx.http, 'bench-seeder', family.token());
  ctx.log(`scenario 3: seeding ${entities} tasks through the service (pushes of 500)`);
  const seedStart = performance.now();
  for (let i = 0; i < entities / 500; i++)
    await seeder.pushApplied(
      ids(`fs${i}`, 500).map((id) => taskCreate(id)),
      'seed',
    );
  const seedSeconds = (performance.now() - seedStart) / 1000;
  await ctx.db.query('VACUUM ANALYZE tasks');

  ctx.log(`scenario 3: first sync of ${entities} entities, ${warmups} warm-up + ${iterations} runs`);
  const total: number[] = [];
  const perPage: number[] = [];
  const floorTotal: number[] = [];
  const floorPerPage: number[] = [];
  const pagedTotal: number[] = [];
  let pages = 0;
  let cpuStart = cpuSnapshot(ctx.servicePid);
  for (let it = -warmups; it < iterations; it++) {
    const device = new Device(ctx.http, `bench-fresh-${it + warmups}`, family.token());
    let ms = 0;
    let rows = 0;
    let n = 0;
    let watermark: string | null = null;
    const pageMs: number[] = [];
    for (;;) {
      const res = await device.delta([], { lastSyncAt: watermark });
      if (res.status !== 200) throw new Error(`first sync page: HTTP ${res.status}`);
      ms += res.ms;
      pageMs.push(res.ms);
      rows += res.body.server_changes.length;
      n++;
      watermark = res.body.last_sync_at;
      if (!res.body.has_more) break;
      if (n > 1000) throw new Error('first sync does not end');
    }
    if (rows !== entities) throw new Error(`first sync returned ${rows} entities, expected ${entities}`);
    const fl = await ctx.floor.readAll(family.familyId, 1000);
    if (fl.rows !== entities) throw new Error(`floor read ${fl.rows} rows, expected ${entities}`);
    const one = await ctx.floor.readAllUnpaged(family.familyId);
    if (one.rows !== entities) throw new Error(`unpaged floor read ${one.rows} rows, expected ${entities}`);
    if (it === -1) cpuStart = cpuSnapshot(ctx.servicePid);
    if (it < 0) continue;
    pages = n;
    total.push(ms);
    perPage.push(...pageMs);
    floorTotal.push(one.ms);
    pagedTotal.push(fl.ms);
    floorPerPage.push(fl.ms / fl.pages);
  }
  const cpu = cpuShare(cpuStart, cpuSnapshot(ctx.servicePid));
  const explain = await explainPull(ctx, family.familyId);
  return {
    result: pair(
      'first_sync_10k',
      `first sync ${entities / 1000}k (${pages} pages)`,
      entities,
      total,
      floorTotal,
      [
        `service: ${pages} POST /sync/delta (limit 1000) until has_more=false; floor: one unpaged SELECT of the same rows (the paged floor, ${pages} keyset SELECTs, beside it below)`,
      ],
      cpu,
    ),
    extra: {
      entities,
      pages,
      seedSeconds: round(seedSeconds),
      perPage: summarize(perPage),
      floorPerPage: summarize(floorPerPage),
      pagedFloor: summarize(pagedTotal),
      pagedRatio: round(summarize(total).median / summarize(pagedTotal).median),
    },
    explain,
  };
}

/** EXPLAIN ANALYZE of the service's pull statement (as SyncRepository.pull builds it): first and second page. */
async function explainPull(ctx: BenchContext, familyId: string): Promise<string> {
  const { rows: tables } = await ctx.db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns
     WHERE table_schema = 'public' AND column_name = 'changed_us'
       AND table_name IN (SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'deleted_us')
     ORDER BY table_name`,
  );
  const build = (first: boolean) =>
    `SELECT * FROM (${tables
      .map(
        ({ table_name: t }) =>
          `(SELECT '${t}' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
            FROM ${t} WHERE family_id = $1 AND ${first ? 'deleted_us IS NULL' : 'changed_us > $3'} ORDER BY changed_us LIMIT $2)`,
      )
      .join(' UNION ALL ')}) AS changed ORDER BY changed_us LIMIT $2`;
  const { rows: marks } = await ctx.db.query(
    `SELECT changed_us FROM tasks WHERE family_id = $1 AND deleted_us IS NULL ORDER BY changed_us OFFSET 999 LIMIT 1`,
    [familyId],
  );
  const out: string[] = [];
  for (const [label, sql, params] of [
    ['first page (last_sync_at null, limit 1000)', build(true), [familyId, 1001]],
    ['second page (changed_us > watermark, limit 1000)', build(false), [familyId, 1001, marks[0]?.changed_us ?? 0]],
  ] as const) {
    // Twice: the first run warms the plan and buffers; the second is reported.
    await ctx.db.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, [...params]);
    const { rows } = await ctx.db.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, [...params]);
    out.push(`-- ${label}\n${rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')}`);
  }
  return out.join('\n\n');
}

/** Scenario 5: pushes of 1, 10, 100 and 500 creates; latency per request and per change. */
export async function batchSizeScenario(ctx: BenchContext): Promise<PairResult[]> {
  const plan: [number, number][] = ctx.quick
    ? [
        [1, 40],
        [10, 25],
        [100, 8],
        [500, 4],
      ]
    : [
        [1, 300],
        [10, 150],
        [100, 40],
        [500, 20],
      ];
  const svcFamily = await createFamily(ctx.http, 'bench-batch-owner', 'bench batch sizes (service)');
  const floorFamily = await createFamily(ctx.http, 'bench-batch-floor', 'bench batch sizes (floor)');
  const device = new Device(ctx.http, 'bench-batch-device', svcFamily.token());
  await device.delta([]);
  const results: PairResult[] = [];
  for (const [size, iterations] of plan) {
    const warmups = Math.max(2, Math.round(iterations / 10));
    ctx.log(`scenario 5: batch size ${size}, ${warmups} warm-up + ${iterations} runs`);
    const svc: number[] = [];
    const fl: number[] = [];
    const cpuStart = cpuSnapshot(ctx.servicePid);
    for (let it = -warmups; it < iterations; it++) {
      const batchIds = ids(`b${size}x${it + warmups}`, size);
      const at = new Date().toISOString();
      const res = await device.pushApplied(
        batchIds.map((id) => taskCreate(id, at)),
        `push ${size} creates`,
      );
      const w = await ctx.floor.upsert(
        floorFamily.familyId,
        batchIds.map((id) => createdRow(id, storedAfterCreate(id), usOf(at))),
      );
      if (w.rowCount !== size) throw new Error(`floor batch ${size}: ${w.rowCount} rows written`);
      if (it < 0) continue;
      svc.push(res.ms);
      fl.push(w.ms);
    }
    results.push(pair(`batch_${size}`, `batch ${size} creates`, size, svc, fl, [], cpuShare(cpuStart, cpuSnapshot(ctx.servicePid))));
  }
  return results;
}

interface MixDevice {
  http: HttpClient;
  device: Device;
  known: string[];
  versions: Map<string, number>;
  seq: number;
}

/** Scenario 4: 40 devices in 10 families, each looping "10 changes + pull" (one POST /sync/delta) over its own keep-alive connection. */
export async function mixedScenario(ctx: BenchContext): Promise<MixedResult> {
  const families = 10;
  const perFamily = 4;
  const changesPerRequest = 10;
  const duration = ctx.quick ? 8 : 30;
  const warmup = ctx.quick ? 2 : 5;
  const devices: MixDevice[] = [];
  for (let f = 0; f < families; f++) {
    const family: BenchFamily = await createFamily(ctx.http, `mix-owner-${f}`, `bench mixed ${f}`);
    for (let d = 0; d < perFamily; d++) {
      const userId = d === 0 ? family.ownerId : `mix-user-${f}-${d}`;
      const token = d === 0 ? family.token() : await family.addMember(userId);
      const http = new HttpClient(ctx.baseUrl, 1);
      devices.push({ http, device: new Device(http, `mix-device-${f}-${d}`, token), known: [], versions: new Map(), seq: 0 });
    }
  }

  const run = async (seconds: number, record: boolean) => {
    const latencies: number[] = [];
    const counters = {
      requests: 0,
      changes: 0,
      applied: 0,
      conflicts: 0,
      changeErrors: 0,
      httpErrors: 0,
      networkErrors: 0,
      serverChanges: 0,
    };
    const errorSamples: string[] = [];
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      devices.map(async (d) => {
        while (performance.now() < until) {
          const changes = nextChanges(d, changesPerRequest);
          let res;
          try {
            res = await d.device.delta(changes);
          } catch (error) {
            counters.networkErrors++;
            if (errorSamples.length < 5) errorSamples.push(String(error));
            continue;
          }
          counters.requests++;
          latencies.push(res.ms);
          if (res.status !== 200) {
            counters.httpErrors++;
            if (errorSamples.length < 5) errorSamples.push(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
            continue;
          }
          counters.changes += changes.length;
          absorb(d, res.body, counters);
          if (res.body.errors.length > 0 && errorSamples.length < 5) errorSamples.push(JSON.stringify(res.body.errors[0]));
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    if (!record) return undefined;
    return { latencies, counters, elapsed, errorSamples };
  };

  ctx.log(`scenario 4: mixed load, ${devices.length} devices in ${families} families, ${warmup} s warm-up + ${duration} s`);
  await run(warmup, false);
  const cpuStart = cpuSnapshot(ctx.servicePid);
  const activity = sampleActivity(ctx.db);
  const liveness = probeLiveness(ctx.baseUrl);
  const groupsBefore = await groupCommits(ctx.baseUrl);
  const measured = (await run(duration, true))!;
  const groupsAfter = await groupCommits(ctx.baseUrl);
  const cpu = cpuShare(cpuStart, cpuSnapshot(ctx.servicePid));
  const connections = await activity.stop();
  const live = await liveness.stop();
  for (const d of devices) d.http.close();
  const { counters: c, elapsed } = measured;
  return {
    durationSeconds: round(elapsed),
    devices: devices.length,
    families,
    changesPerRequest,
    requests: c.requests,
    changes: c.changes,
    applied: c.applied,
    conflicts: c.conflicts,
    changeErrors: c.changeErrors,
    httpErrors: c.httpErrors,
    networkErrors: c.networkErrors,
    serverChangesReceived: c.serverChanges,
    requestsPerSecond: round(c.requests / elapsed),
    changesPerSecond: round(c.changes / elapsed),
    latency: summarize(measured.latencies),
    cpu,
    connections,
    liveness: live,
    pushesPerCommit: round((groupsAfter.requests - groupsBefore.requests) / Math.max(1, groupsAfter.groups - groupsBefore.groups)),
    errorSamples: measured.errorSamples,
  };
}

/** 2 creates and 8 updates of tasks the device knows (its own or seen in pulls), at their known versions. */
function nextChanges(d: MixDevice, n: number): WireChange[] {
  const at = new Date().toISOString();
  const updates = Math.min(n - 2, d.known.length);
  const picked = new Set<string>();
  while (picked.size < updates) picked.add(d.known[Math.floor(Math.random() * d.known.length)]);
  const changes: WireChange[] = [...picked].map((id) =>
    taskUpdate(
      id,
      d.versions.get(id)!,
      { title: `${createData(id).title} (${d.device.deviceId} #${d.seq})`, status: d.seq % 2 ? 'in_progress' : 'open' },
      at,
    ),
  );
  while (changes.length < n) changes.push(taskCreate(`${d.device.deviceId}-t${d.seq++}`, at));
  d.seq++;
  return changes;
}

function absorb(
  d: MixDevice,
  body: DeltaResponse,
  counters: { applied: number; conflicts: number; changeErrors: number; serverChanges: number },
): void {
  const see = (id: string, version: number) => {
    if (!d.versions.has(id)) d.known.push(id);
    d.versions.set(id, version);
  };
  counters.applied += body.applied_count;
  counters.conflicts += body.conflicts.filter((c) => c.resolution !== 'merged').length;
  counters.changeErrors += body.error_count;
  counters.serverChanges += body.server_changes.length;
  for (const s of body.server_changes) if (s.entity_type === 'task' && s.action !== 'delete') see(s.entity_id, s.version);
  for (const a of body.applied) if (a.entity_type === 'task') see(a.entity_id, a.version);
  for (const c of body.conflicts)
    if (c.server_version !== null && d.versions.has(c.entity_id)) d.versions.set(c.entity_id, c.server_version);
}
