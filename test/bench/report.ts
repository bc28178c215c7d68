import type { FamilyMixResult, LoadWindow } from './family-mix-scenario';
import type { FirstSyncExtra, MixedResult, PairResult } from './scenarios';
import { round, Summary } from './stats';

export interface SoakResult {
  perMinute: { pushes: number; rssMb: number }[];
  ratio: number;
}

export interface Target {
  name: string;
  goal: string;
  actual: string;
  met: boolean;
}

const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : String(round(v)));

function table(headers: string[], rows: string[][], alignLeft = 1): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < alignLeft ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function pairTable(results: PairResult[]): string {
  return table(
    ['scenario', 'runs', 'median ms', 'p95 ms', 'max ms', 'floor med', 'floor p95', 'ratio', 'min floor med', 'ratio to min'],
    results.map((r) => [
      r.label,
      String(r.service.n),
      num(r.service.median),
      num(r.service.p95),
      num(r.service.max),
      num(r.floor.median),
      num(r.floor.p95),
      `${num(r.ratio)}x`,
      r.minimal ? num(r.minimal.median) : '-',
      r.minimalRatio !== undefined ? `${num(r.minimalRatio)}x` : '-',
    ]),
  );
}

export function batchTable(results: PairResult[]): string {
  return table(
    ['batch', 'runs', 'req median ms', 'req p95 ms', 'req max ms', 'per change ms', 'floor req ms', 'floor per change ms', 'ratio'],
    results.map((r) => [
      String(r.size),
      String(r.service.n),
      num(r.service.median),
      num(r.service.p95),
      num(r.service.max),
      num(r.service.median / r.size),
      num(r.floor.median),
      num(r.floor.median / r.size),
      `${num(r.ratio)}x`,
    ]),
  );
}

export function mixedTable(m: MixedResult): string {
  const l: Summary = m.latency;
  return table(
    ['metric', 'value'],
    [
      ['devices / families', `${m.devices} / ${m.families}`],
      ['duration s', num(m.durationSeconds)],
      ['requests (10 changes + pull each)', String(m.requests)],
      ['requests/s', num(m.requestsPerSecond)],
      ['changes/s', num(m.changesPerSecond)],
      ['latency p50 / p95 / p99 / max ms', `${num(l.median)} / ${num(l.p95)} / ${num(l.p99)} / ${num(l.max)}`],
      ['applied / conflicts', `${m.applied} / ${m.conflicts}`],
      ['server_changes received', String(m.serverChangesReceived)],
      ['errors: HTTP / network / per-change', `${m.httpErrors} / ${m.networkErrors} / ${m.changeErrors}`],
      ['CPU cores used: service / postgres / bench', `${m.cpu.serviceCores} / ${m.cpu.postgresCores} / ${m.cpu.benchCores}`],
      ['GET /health/live during the run p50 / p99 ms', `${num(m.liveness.median)} / ${num(m.liveness.p99)}`],
      ['pushes per commit (group commit, mean)', num(m.pushesPerCommit)],
      ['pool fully busy (share of samples)', num(m.connections.poolSaturated)],
      ...Object.entries(m.connections.average).map(([state, avg], i) => [
        i === 0 ? `service DB connections (avg of ${m.connections.poolConnectionsSeen})` : '',
        `${num(avg)}  ${state}`,
      ]),
    ],
    2,
  );
}

export function firstSyncLines(extra: FirstSyncExtra): string {
  return (
    `first sync: ${extra.entities} entities in ${extra.pages} pages; per page median ${num(extra.perPage.median)} ms ` +
    `(p95 ${num(extra.perPage.p95)}), paged floor per page ${num(extra.floorPerPage.median)} ms; paged floor (all pages) ${num(extra.pagedFloor.median)} ms, ` +
    `service / paged floor ${num(extra.pagedRatio)}x; seeding through the service took ${extra.seedSeconds} s`
  );
}

export function cpuLines(results: PairResult[]): string {
  return results
    .filter((r) => r.cpu)
    .map(
      (r) =>
        `  ${r.label.padEnd(28)} service ${r.cpu!.serviceCores}  postgres ${r.cpu!.postgresCores}  bench ${r.cpu!.benchCores}  (cores, over ${r.cpu!.wallSeconds} s)`,
    )
    .join('\n');
}

/** The targets of issue 32 (performance round 4), where the run measured them. */
export function evaluateTargets(
  pairs: Map<string, PairResult>,
  mixed?: MixedResult,
  family?: FamilyMixResult,
  soak?: SoakResult,
): Target[] {
  const targets: Target[] = [];
  const minimal = (key: string, limit: number, name: string) => {
    const r = pairs.get(key);
    if (!r?.minimal || r.minimalRatio === undefined) return;
    targets.push({
      name,
      goal: `median <= ${limit}x minimal floor`,
      actual: `${r.minimalRatio}x (${round(r.service.median)} vs ${round(r.minimal.median)} ms; service-tables floor ${r.ratio}x)`,
      met: r.minimalRatio <= limit,
    });
  };
  minimal('push_create_500', 2.5, '500 creates push');
  minimal('push_update_500', 2.5, '500 updates push');
  const first = pairs.get('first_sync_10k');
  if (first)
    targets.push({
      name: 'first sync of 10,000',
      goal: 'median <= 3x unpaged SELECT',
      actual: `${first.ratio}x (${round(first.service.median)} vs ${round(first.floor.median)} ms)`,
      met: first.ratio <= 3,
    });
  if (mixed) {
    const errors = mixed.httpErrors + mixed.networkErrors + mixed.changeErrors;
    targets.push({ name: 'mixed load errors', goal: '0', actual: String(errors), met: errors === 0 });
  }
  if (family) {
    const c = family.closed;
    targets.push({
      name: 'family mix service / PostgreSQL CPU',
      goal: '<= 0.8',
      actual: `${c.serviceToPostgres} (${c.cpu.serviceMsPerRequest} / ${c.cpu.postgresMsPerRequest} ms per request)`,
      met: c.serviceToPostgres <= 0.8,
    });
    targets.push({
      name: 'family mix PostgreSQL CPU per change',
      goal: '<= 0.30 ms',
      actual: `${c.cpu.postgresMsPerChange} ms`,
      met: c.cpu.postgresMsPerChange <= 0.3,
    });
    if (family.open)
      targets.push({
        name: 'family mix p99 at 60% of saturation',
        goal: '< 100 ms',
        actual: `${round(family.open.latency.p99)} ms at ${family.open.offeredPerSecond} requests/s`,
        met: family.open.latency.p99 < 100,
      });
    const errors = c.errors + (family.open?.errors ?? 0) + family.convergenceMismatches;
    targets.push({ name: 'family mix errors + unconverged', goal: '0', actual: String(errors), met: errors === 0 });
  }
  if (soak) {
    const rss = soak.perMinute.map((m) => m.rssMb);
    targets.push({
      name: `soak: minute ${soak.perMinute.length} / minute 1`,
      goal: '>= 0.9, RSS flat',
      actual: `${soak.ratio} (RSS ${rss[0]} -> ${rss[rss.length - 1]} MB)`,
      met: soak.ratio >= 0.9,
    });
  }
  return targets;
}

export function familyMixLines(f: FamilyMixResult): string[] {
  const row = (w: LoadWindow) => [
    w.mode === 'open' ? `open loop ${w.offeredPerSecond}/s` : w.mode === 'empty' ? 'empty syncs' : 'closed loop',
    num(w.seconds),
    String(w.pushes),
    String(w.pulls),
    num(w.pushesPerSecond),
    `${num(w.latency.median)} / ${num(w.latency.p95)} / ${num(w.latency.p99)}`,
    `${w.applied} / ${w.conflicts} / ${w.errors}`,
    `${num(w.cpu.serviceMsPerRequest)} / ${num(w.cpu.postgresMsPerRequest)} / ${num(w.cpu.benchMsPerRequest)}`,
    num(w.serviceToPostgres),
    num(w.cpu.postgresMsPerChange),
  ];
  return [
    `Scenario 7: family mix (${f.devices} devices in ${f.families} families, ${f.changesPerRequest} changes + pull per round; CPU over the steady window, per request = per POST)`,
    table(
      [
        'window',
        's',
        'rounds',
        'pulls',
        'rounds/s',
        'p50 / p95 / p99 ms',
        'applied / conflicts / errors',
        'CPU ms/request svc / pg / bench',
        'svc/pg',
        'pg ms/change',
      ],
      [row(f.empty), row(f.closed), ...(f.open ? [row(f.open)] : [])],
    ),
    `  converged: ${f.entities} entities, ${f.convergenceMismatches} replica entries differ from the database`,
  ];
}

export function targetTable(targets: Target[]): string {
  return table(
    ['target', 'goal', 'actual', 'status'],
    targets.map((t) => [t.name, t.goal, t.actual, t.met ? 'MET' : 'MISSED']),
    3,
  );
}
