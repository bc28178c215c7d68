import { createFamily, Device, ids, taskCreate } from './fixtures';
import type { BenchContext } from './scenarios';
import { round, summarize } from './stats';

/** One first sync, paged with the default limit: when every task had arrived, and when it ended (ms). */
interface Timing {
  tasksMs: number;
  totalMs: number;
  pages: number;
}

export interface LanesResult {
  tasks: number;
  ledger: number;
  runs: number;
  withLanes: { tasksMs: number; totalMs: number; pages: number };
  without: { tasksMs: number; totalMs: number; pages: number };
  /** Medians: time until every task arrived, with lanes / without. */
  tasksRatio: number;
  /** Medians: the whole first sync, with lanes / without (target: at most 1.10). */
  totalRatio: number;
}

/**
 * PROTOCOL 2.9: the first sync of a family with 10,000 tasks and 20,000 ledger rows (the
 * ledger committed first, as a family's history is), with and without lanes, alternating.
 */
export async function lanesScenario(ctx: BenchContext): Promise<LanesResult> {
  const tasks = 10_000;
  const ledger = 20_000;
  const runs = ctx.quick ? 3 : 7;
  const family = await createFamily(ctx.http, 'bench-lanes-owner', 'bench lanes');
  ctx.log(`lanes: seeding ${ledger} ledger rows (SQL) and ${tasks} tasks (through the service)`);
  await ctx.db.query('INSERT INTO family_sync_state (family_id) VALUES ($1) ON CONFLICT DO NOTHING', [family.familyId]);
  const base = Date.now() * 1000;
  await ctx.db.query(
    `INSERT INTO points_ledger (family_id, id, version, data, field_clocks, client_us, created_us, changed_us)
     SELECT $1, 'l' || i, 1, jsonb_build_object('userId', 'bench-lanes-owner', 'delta', 5, 'reason', 'task done', 'taskId', 't' || i), '{}', $2::bigint + i, $2::bigint + i, $2::bigint + i
     FROM generate_series(1, $3::int) AS i`,
    [family.familyId, base, ledger],
  );
  await ctx.db.query('UPDATE family_sync_state SET last_us = $2 WHERE family_id = $1', [family.familyId, base + ledger]);
  const seeder = new Device(ctx.http, 'bench-lanes-seeder', family.token());
  for (let i = 0; i < tasks / 500; i++)
    await seeder.pushApplied(
      ids(`ln${i}`, 500).map((id) => taskCreate(id)),
      'seed',
    );
  await ctx.db.query('VACUUM ANALYZE points_ledger');
  await ctx.db.query('VACUUM ANALYZE tasks');

  const firstSync = async (name: string, lanes: boolean): Promise<Timing> => {
    const device = new Device(ctx.http, name, family.token());
    let watermark: string | null = null;
    let cursors: Record<string, string> = {};
    let ms = 0;
    let taskRows = 0;
    let rows = 0;
    let tasksMs = Infinity;
    let pages = 0;
    for (;;) {
      const res = await device.delta([], { lastSyncAt: watermark, ...(lanes ? { lanes: cursors } : {}) });
      if (res.status !== 200) throw new Error(`lanes first sync: HTTP ${res.status}`);
      ms += res.ms;
      pages++;
      rows += res.body.server_changes.length;
      taskRows += res.body.server_changes.filter((c) => c.entity_type === 'task').length;
      if (taskRows === tasks && tasksMs === Infinity) tasksMs = ms;
      watermark = res.body.last_sync_at;
      cursors = (res.body as { lanes?: Record<string, string> }).lanes ?? {};
      if (!res.body.has_more) break;
    }
    if (rows !== tasks + ledger) throw new Error(`lanes first sync returned ${rows} entities, expected ${tasks + ledger}`);
    return { tasksMs, totalMs: ms, pages };
  };

  ctx.log(`lanes: first sync with and without lanes, alternating, 1 warm-up + ${runs} runs each`);
  const withLanes: Timing[] = [];
  const without: Timing[] = [];
  for (let i = -1; i < runs; i++) {
    const a = await firstSync(`bench-lanes-on-${i + 1}`, true);
    const b = await firstSync(`bench-lanes-off-${i + 1}`, false);
    if (i < 0) continue;
    withLanes.push(a);
    without.push(b);
  }
  const median = (xs: number[]) => summarize(xs).median;
  const summary = (ts: Timing[]) => ({
    tasksMs: round(median(ts.map((x) => x.tasksMs))),
    totalMs: round(median(ts.map((x) => x.totalMs))),
    pages: ts[0]?.pages ?? 0,
  });
  const on = summary(withLanes);
  const off = summary(without);
  return {
    tasks,
    ledger,
    runs,
    withLanes: on,
    without: off,
    tasksRatio: Math.round((on.tasksMs / off.tasksMs) * 1000) / 1000,
    totalRatio: Math.round((on.totalMs / off.totalMs) * 1000) / 1000,
  };
}

/** The report's lines. */
export function lanesLines(r: LanesResult): string[] {
  return [
    `Scenario 6: first sync of ${r.tasks} tasks + ${r.ledger} ledger rows (ledger older), limit 1000, ${r.runs} runs each, alternating (medians)`,
    `  every task arrived after: ${r.withLanes.tasksMs} ms with lanes, ${r.without.tasksMs} ms without (ratio ${r.tasksRatio})`,
    `  whole first sync: ${r.withLanes.totalMs} ms with lanes (${r.withLanes.pages} pages), ${r.without.totalMs} ms without (${r.without.pages} pages); ratio ${r.totalRatio} (target <= 1.10: ${r.totalRatio <= 1.1 ? 'MET' : 'MISSED'})`,
  ];
}
