import { Client } from 'pg';
import { CpuShare, cpuShare, cpuSnapshot } from './cpu';
import type { ActivityProfile } from './diagnostics';
import { createFamily, Device, ids, stalePatch, storedAfterCreate, taskCreate, taskUpdate, updatePatch } from './fixtures';
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
  /** The minimal floor (issue 32: a 5-column table, its key and one index), where measured. */
  minimal?: Summary;
  /** service median / minimal floor median. */
  minimalRatio?: number;
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

export function pair(
  key: string,
  label: string,
  size: number,
  service: number[],
  floor: number[],
  notes: string[] = [],
  cpu?: CpuShare,
  minimalFloor?: number[],
): PairResult {
  const s = summarize(service);
  const f = summarize(floor);
  const m = minimalFloor && minimalFloor.length > 0 ? summarize(minimalFloor) : undefined;
  return {
    key,
    label,
    size,
    service: s,
    floor: f,
    ratio: round(s.median / f.median),
    minimal: m,
    minimalRatio: m && round(s.median / m.median),
    cpu,
    notes,
  };
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
  const minMs: number[] = [];
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
    const min = await ctx.floor.upsertMinimal(floorFamily.familyId, rows);
    if (min.rowCount !== batch) throw new Error(`minimal floor create: ${min.rowCount} rows written, expected ${batch}`);
    if (it === -1) cpuStart = cpuSnapshot(ctx.servicePid);
    if (it < 0) continue;
    svcMs.push(res.ms);
    floorMs.push(fl.ms);
    minMs.push(min.ms);
    lastIds = batchIds;
    floorRows = rows;
  }
  const createCpu = cpuShare(cpuStart, cpuSnapshot(ctx.servicePid));
  const createCheck = await sameShape(ctx, svcFamily.familyId, floorFamily.familyId, `pc${iterations - 1}-`);
  results.push(pair('push_create_500', 'push 500 creates', batch, svcMs, floorMs, [createCheck], createCpu, minMs));

  // 1b. updates on the current version (always the same 500 tasks: the last created batch)
  ctx.log(`scenario 1: push of ${batch} task updates (versions match), ${warmups} warm-up + ${iterations} runs`);
  const versions = new Map(lastIds.map((id) => [id, 1]));
  const svcUpd: number[] = [];
  const floorUpd: number[] = [];
  const minUpd: number[] = [];
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
    const min = await ctx.floor.upsertMinimal(floorFamily.familyId, floorRows);
    if (min.rowCount !== batch) throw new Error(`minimal floor update: ${min.rowCount} rows written, expected ${batch}`);
    if (it === -1) cpuStart = cpuSnapshot(ctx.servicePid);
    if (it < 0) continue;
    svcUpd.push(res.ms);
    floorUpd.push(fl.ms);
    minUpd.push(min.ms);
  }
  const updateCpu = cpuShare(cpuStart, cpuSnapshot(ctx.servicePid));
  const updateCheck = await sameShape(ctx, svcFamily.familyId, floorFamily.familyId, `pc${iterations - 1}-`);
  results.push(pair('push_update_500', 'push 500 updates', batch, svcUpd, floorUpd, [updateCheck], updateCpu, minUpd));

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
