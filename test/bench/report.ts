import type { FirstSyncExtra, MixedResult, PairResult } from './scenarios';
import { round, Summary } from './stats';

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
    ['scenario', 'runs', 'median ms', 'p95 ms', 'max ms', 'floor med', 'floor p95', 'floor max', 'ratio'],
    results.map((r) => [
      r.label,
      String(r.service.n),
      num(r.service.median),
      num(r.service.p95),
      num(r.service.max),
      num(r.floor.median),
      num(r.floor.p95),
      num(r.floor.max),
      `${num(r.ratio)}x`,
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

export function evaluateTargets(pairs: Map<string, PairResult>, mixed?: MixedResult): Target[] {
  const targets: Target[] = [];
  const ratio = (key: string, limit: number, name: string) => {
    const r = pairs.get(key);
    if (!r) return;
    targets.push({
      name,
      goal: `median <= ${limit}x floor`,
      actual: `${r.ratio}x (${round(r.service.median)} vs ${round(r.floor.median)} ms)`,
      met: r.ratio <= limit,
    });
  };
  ratio('push_create_500', 4, '500 creates push');
  ratio('push_update_500', 2.5, '500 updates push');
  ratio('push_stale_500', 3.5, '500 stale updates push');
  ratio('first_sync_10k', 3, 'first sync of 10,000 (unpaged floor)');
  if (mixed) {
    const errors = mixed.httpErrors + mixed.networkErrors + mixed.changeErrors;
    targets.push({
      name: 'mixed load throughput',
      goal: '>= 5000 changes/s',
      actual: `${round(mixed.changesPerSecond)} changes/s`,
      met: mixed.changesPerSecond >= 5000,
    });
    targets.push({ name: 'mixed load p99', goal: '< 250 ms', actual: `${round(mixed.latency.p99)} ms`, met: mixed.latency.p99 < 250 });
    targets.push({ name: 'mixed load errors', goal: '0', actual: String(errors), met: errors === 0 });
  }
  return targets;
}

export function targetTable(targets: Target[]): string {
  return table(
    ['target', 'goal', 'actual', 'status'],
    targets.map((t) => [t.name, t.goal, t.actual, t.met ? 'MET' : 'MISSED']),
    3,
  );
}
