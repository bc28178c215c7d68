import { cpuShare, cpuSnapshot } from './cpu';
import { createFamily, Device, ids, taskCreate } from './fixtures';
import type { BenchContext, FirstSyncExtra, PairResult } from './scenarios';
import { pair } from './scenarios';
import { round, summarize } from './stats';

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
