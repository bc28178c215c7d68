/**
 * `npm run bench`: the service measured through HTTP, side by side with the SQL floor (the
 * cheapest statements doing the same storage work) on the same database in the same run.
 *
 * Environment:
 *   DATABASE_URL / TEST_DATABASE_URL  PostgreSQL server to use (a database bench_<pid> is
 *                                     created there and dropped at the end); when neither is
 *                                     set, an embedded PostgreSQL in .data/pg-bench (port
 *                                     BENCH_PG_PORT, default 54331)
 *   BENCH_QUICK=1                     a ~30 second version (fewer runs, shorter mixed load)
 *   BENCH_ONLY=push,sync,lanes,patches,mixed,batch,realtime,family,soak  run only these scenario
 *                                     groups (soak, 10 minutes of the family mix, runs only when named)
 *   BENCH_SOAK_MINUTES=10             the soak's length
 *   BENCH_PATCHES=1                   the family mix asks for patches on every request (as the SDK does)
 *   BENCH_PG_SETTINGS=a=1,b=2          settings of the embedded PostgreSQL (e.g. shared_buffers=1GB,max_wal_size=8GB)
 *   BENCH_CPU_PROF=1                  write a V8 CPU profile of the service to .data/bench/profile
 *                                     (summarise it with test/bench/profile-summary.ts)
 *   DB_POOL_SIZE etc.                 passed through to the service
 *
 * Results: a table on stdout, .data/bench/bench-<time>.json and .svg (and latest.json/.svg).
 */
import 'reflect-metadata';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { benchDatabase } from './bench-database';
import { BENCH_JWT_SECRET } from './fixtures';
import { Floor } from './floor';
import { HttpClient } from './http';
import {
  batchTable,
  cpuLines,
  evaluateTargets,
  familyMixLines,
  firstSyncLines,
  mixedTable,
  pairTable,
  SoakResult,
  targetTable,
} from './report';
import { FamilyMixResult, familyMixScenario, familySoak } from './family-mix-scenario';
import { BenchContext, batchSizeScenario, FirstSyncExtra, MixedResult, PairResult, pushScenarios } from './scenarios';
import { firstSyncScenario } from './first-sync-scenario';
import { mixedScenario } from './mixed-scenario';
import { LanesResult, lanesLines, lanesScenario } from './lanes-scenario';
import { PatchesResult, patchesLines, patchesScenario } from './patches-scenario';
import { RunningService, startService } from './service';
import { RealtimeResult, realtimeLines, realtimeScenario } from './realtime-scenario';
import { batchChart } from './svg';

const ROOT = resolve(__dirname, '..', '..');
const OUT_DIR = join(ROOT, '.data', 'bench');
const GROUPS = ['push', 'sync', 'lanes', 'patches', 'mixed', 'batch', 'realtime', 'family', 'soak'] as const;

const t0 = performance.now();
const log = (message: string) => process.stdout.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);

/** The URL with its password hidden, for the report. */
function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function main(): Promise<number> {
  const quick = ['1', 'true', 'yes'].includes((process.env.BENCH_QUICK ?? '').toLowerCase());
  const onlyList = (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const g of onlyList)
    if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`BENCH_ONLY: unknown scenario group "${g}" (${GROUPS.join(', ')})`);
  const only = (group: (typeof GROUPS)[number]) => (onlyList.length === 0 && group !== 'soak') || onlyList.includes(group);
  const cpuProfile = ['1', 'true', 'yes'].includes((process.env.BENCH_CPU_PROF ?? '').toLowerCase());
  mkdirSync(OUT_DIR, { recursive: true });

  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop()!;
      await step().catch((error) => log(`cleanup: ${error instanceof Error ? error.message : error}`));
    }
  };
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping and cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // 1. The PostgreSQL server, and a fresh database for this run.
    const { adminUrl, benchUrl, embedded } = await benchDatabase(ROOT, log, cleanups);
    log(`database ${redact(benchUrl)}${embedded ? ' (embedded)' : ''}`);

    // 2. The built service as a child process (it migrates the fresh database at start).
    const service: RunningService = await startService({
      root: ROOT,
      databaseUrl: benchUrl,
      jwtSecret: BENCH_JWT_SECRET,
      outDir: OUT_DIR,
      cpuProfile,
      log,
    });
    cleanups.push(() => service.stop());
    const http = new HttpClient(service.baseUrl, 1);
    cleanups.push(async () => http.close());
    const floorClient = new Client({ connectionString: benchUrl, application_name: 'bench-floor' });
    const db = new Client({ connectionString: benchUrl, application_name: 'bench-checks' });
    await floorClient.connect();
    await db.connect();
    cleanups.push(() => floorClient.end());
    cleanups.push(() => db.end());

    const { rows: settings } = await db.query(
      `SELECT version() AS version, current_setting('shared_buffers') AS shared_buffers, current_setting('fsync') AS fsync,
              current_setting('synchronous_commit') AS synchronous_commit, current_setting('max_connections') AS max_connections`,
    );
    const cpus = os.cpus();
    const machine = {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGb: Math.round(os.totalmem() / 1024 ** 3),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      postgres: settings[0].version as string,
      postgresSettings: {
        shared_buffers: settings[0].shared_buffers,
        fsync: settings[0].fsync,
        synchronous_commit: settings[0].synchronous_commit,
        max_connections: settings[0].max_connections,
      },
      database: embedded ? 'embedded (.data/pg-bench)' : redact(adminUrl),
      servicePoolSize: Number(process.env.DB_POOL_SIZE ?? 10),
      /** 1-minute load average before and after the scenarios: above the core count, other processes competed. */
      loadAverage: { start: Math.round(os.loadavg()[0] * 100) / 100, end: Number.NaN },
    };
    log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, node ${machine.node}`);
    log(
      `postgres: ${machine.postgres.split(' on ')[0]} (${machine.database}; fsync ${machine.postgresSettings.fsync}, synchronous_commit ${machine.postgresSettings.synchronous_commit}, shared_buffers ${machine.postgresSettings.shared_buffers})`,
    );

    const ctx: BenchContext = { quick, baseUrl: service.baseUrl, http, floor: new Floor(floorClient), db, servicePid: service.pid, log };

    // 3. Scenarios.
    const pairs: PairResult[] = [];
    let batches: PairResult[] = [];
    let mixed: MixedResult | undefined;
    let firstSync: FirstSyncExtra | undefined;
    let explain: string | undefined;
    if (only('push')) pairs.push(...(await pushScenarios(ctx)));
    if (only('sync')) {
      const fs = await firstSyncScenario(ctx);
      pairs.push(fs.result);
      firstSync = fs.extra;
      explain = fs.explain;
    }
    let lanes: LanesResult | undefined;
    if (only('lanes')) lanes = await lanesScenario(ctx);
    let patches: PatchesResult | undefined;
    if (only('patches')) patches = await patchesScenario(ctx);
    if (only('batch')) batches = await batchSizeScenario(ctx);
    if (only('mixed')) mixed = await mixedScenario(ctx);
    let family: FamilyMixResult | undefined;
    if (only('family')) family = await familyMixScenario(ctx);
    let soak: SoakResult | undefined;
    if (only('soak')) soak = await familySoak(ctx, Number(process.env.BENCH_SOAK_MINUTES ?? 10));
    let realtime: RealtimeResult | undefined;
    if (only('realtime')) {
      // A second instance on the same database: pokes reach it only through NOTIFY.
      const b = await startService({
        root: ROOT,
        databaseUrl: benchUrl,
        jwtSecret: BENCH_JWT_SECRET,
        outDir: join(OUT_DIR, 'instance-b'),
        cpuProfile: false,
        log,
      });
      cleanups.push(() => b.stop());
      realtime = await realtimeScenario({ quick, http, baseUrlA: service.baseUrl, baseUrlB: b.baseUrl, pidB: b.pid, log });
      await b.stop();
    }

    // 4. Report.
    machine.loadAverage.end = Math.round(os.loadavg()[0] * 100) / 100;
    const byKey = new Map([...pairs, ...batches].map((r) => [r.key, r]));
    const targets = evaluateTargets(byKey, mixed, family, soak);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const files = {
      json: join(OUT_DIR, `bench-${stamp}.json`),
      svg: batches.length > 0 ? join(OUT_DIR, `bench-${stamp}.svg`) : undefined,
      explain: explain ? join(OUT_DIR, `bench-${stamp}-explain-pull.txt`) : undefined,
      serviceLog: service.logFile,
    };

    const out: string[] = [];
    out.push('');
    out.push(`Delta Sync benchmark${quick ? ' (BENCH_QUICK)' : ''}: service through HTTP vs the SQL floor, same database, same run`);
    out.push(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, ${machine.os}, node ${machine.node}`);
    out.push(`postgres: ${machine.postgres}`);
    out.push(
      `  ${machine.database}; fsync=${machine.postgresSettings.fsync} synchronous_commit=${machine.postgresSettings.synchronous_commit} ` +
        `shared_buffers=${machine.postgresSettings.shared_buffers}; service DB_POOL_SIZE=${machine.servicePoolSize}`,
    );
    const busy = Math.max(machine.loadAverage.start, machine.loadAverage.end) > machine.cores;
    out.push(
      `load average (1 min) at start ${machine.loadAverage.start}, at end ${machine.loadAverage.end}` +
        (busy ? ` > ${machine.cores} cores: other processes competed for the CPU, expect noisy numbers` : ''),
    );
    if (pairs.length > 0) {
      out.push(
        '',
        'Scenarios 1-3 (milliseconds per request; first sync: per full sync of all pages; ratio = service median / floor median)',
      );
      out.push(pairTable(pairs));
      for (const r of pairs) for (const note of r.notes) out.push(`  ${r.label}: ${note}`);
      if (firstSync) out.push(`  ${firstSyncLines(firstSync)}`);
    }
    if (lanes) out.push('', ...lanesLines(lanes));
    if (patches) out.push('', ...patchesLines(patches));
    if (batches.length > 0) {
      out.push('', 'Scenario 5: batch sizes (creates; per change = request median / batch size)');
      out.push(batchTable(batches));
    }
    if (mixed) {
      out.push(
        '',
        `Scenario 4: mixed load (${mixed.devices} devices in ${mixed.families} families, each looping one POST /sync/delta with ${mixed.changesPerRequest} changes + pull, keep-alive)`,
      );
      out.push(mixedTable(mixed));
      for (const e of mixed.errorSamples) out.push(`  error sample: ${e}`);
    }
    if (family) out.push('', ...familyMixLines(family));
    if (soak)
      out.push(
        '',
        `Soak: family mix rounds per minute ${soak.perMinute.map((m) => m.pushes).join(', ')}; service RSS MB ${soak.perMinute.map((m) => m.rssMb).join(', ')}`,
      );
    if (realtime) out.push('', 'Scenario 6: realtime pokes across two instances', ...realtimeLines(realtime));
    const cpu = cpuLines([...pairs, ...batches]);
    if (cpu) out.push('', 'CPU used while measuring (cores: 1.0 = one core busy)', cpu);
    if (explain) {
      const times = [...explain.matchAll(/Execution Time: ([\d.]+) ms/g)].map((m) => m[1]);
      out.push(
        '',
        `pull query EXPLAIN ANALYZE (10k family): execution ${times[0]} ms (first page), ${times[1]} ms (second page); plan in ${files.explain}`,
      );
    }
    if (targets.length > 0) out.push('', 'Targets (medians)', targetTable(targets));
    out.push('', `JSON: ${files.json}`);
    if (files.svg) out.push(`chart: ${files.svg}`);
    if (service.profileDir)
      out.push(
        `CPU profile of the service: ${service.profileDir} (written when the service exits; summarise with npx ts-node --transpile-only test/bench/profile-summary.ts)`,
      );
    process.stdout.write(`${out.join('\n')}\n`);

    const report = {
      startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
      quick,
      only: onlyList.length > 0 ? onlyList : undefined,
      machine,
      units: 'milliseconds; first sync: per full sync of all pages',
      scenarios: pairs,
      firstSync,
      batchSizes: batches.map((r) => ({ ...r, perChangeMs: { service: r.service.median / r.size, floor: r.floor.median / r.size } })),
      mixed,
      family,
      soak,
      lanes,
      patches,
      realtime,
      targets,
      explainPull: explain,
      files,
    };
    // Milliseconds to the microsecond: enough for every figure, and a readable file.
    const rounded = (_key: string, value: unknown) =>
      typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
    writeFileSync(files.json, `${JSON.stringify(report, rounded, 2)}\n`);
    copyFileSync(files.json, join(OUT_DIR, 'latest.json'));
    if (files.svg) {
      const subtitle = `${machine.cores} x ${machine.cpu}, node ${machine.node}, ${machine.postgres.split(' on ')[0]}${quick ? ', quick run' : ''}`;
      writeFileSync(
        files.svg,
        batchChart(
          batches.map((r) => ({ size: r.size, service: r.service.median / r.size, floor: r.floor.median / r.size })),
          subtitle,
        ),
      );
      copyFileSync(files.svg, join(OUT_DIR, 'latest.svg'));
    }
    if (explain) writeFileSync(files.explain!, `${explain}\n`);
    return 0;
  } finally {
    log('cleaning up (service, bench database)');
    await cleanup();
    log('done');
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
    process.exit(1);
  },
);
