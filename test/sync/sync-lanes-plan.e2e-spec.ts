import { Client } from 'pg';
import { lanePullStatement, pullArgs } from '../../apps/api/src/sync/pull/pull-statements';
import { SyncRegistry } from '../../apps/api/src/sync/sync-registry.service';
import { sqlClient } from '../support/db-state';
import { seedLedger } from '../support/lanes-helpers';
import { change, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed EXPLAIN JSON of open shape, read field by field
type PlanNode = Record<string, any>;

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

/**
 * The plan of the lanes pull (PROTOCOL 2.9) on a family with 3,000 ledger rows and 600 tasks:
 * every entity table is read through its (family_id, changed_us) index in commit order,
 * never more than the counting pass and the page need, and the candidates are counted, not
 * sorted (the window sorts of the first version sorted 2 x (limit + 1) rows several times).
 */
describe('lanes pull plan', () => {
  let t: TestApp;
  let sql: Client;
  let f: FamilyFixture;
  const limit = 200;

  beforeAll(async () => {
    t = await startTestApp();
    sql = await sqlClient(t, 'lanes-plan');
    f = await createFamily(t, 'ann', 'Lanes plan');
    await seedLedger(sql, f.familyId, 3000);
    for (let i = 0; i < 3; i++)
      await syncOk(t, f.token(), {
        device_id: 'writer',
        changes: Array.from({ length: 200 }, (_, j) => change({ entity_id: `t${i}-${j}`, data: { title: `task ${j}` } })),
      });
    for (const table of ['tasks', 'points_ledger']) await sql.query(`VACUUM ANALYZE ${table}`);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it.each(['state', 'since'] as const)(
    '%s: index scans in commit order, at most 2 x (limit + 1) rows a table, sorts of the page rows only',
    async (mode) => {
      const tables = t.app
        .get(SyncRegistry)
        .all()
        .map(({ type, resolver, lane }) => ({ entityType: type, table: resolver.table, lane, excludeIds: [] }));
      const statement = lanePullStatement(tables, mode, 4 * 1024 * 1024);
      const query = { sinceUs: mode === 'state' ? null : 0, limit, lanes: { 0: 0, 1: 0, 2: 0 }, tables };
      const text = statement.inlineText(pullArgs(f.familyId, query, (v) => sql.escapeLiteral(v)));
      const { rows } = await sql.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`);
      const all = nodes(rows[0]['QUERY PLAN'][0].Plan as PlanNode);

      for (const table of ['tasks', 'points_ledger']) {
        const scans = all.filter((n) => n['Relation Name'] === table);
        expect(scans.length).toBeGreaterThan(0);
        for (const scan of scans) {
          expect(scan['Node Type']).toBe('Index Scan');
          expect(scan['Index Name']).toBe(`${table}_pull_idx`);
        }
        const read = scans.reduce((n, s) => n + s['Actual Rows'] * s['Actual Loops'], 0);
        expect(read).toBeLessThanOrEqual(3 * (limit + 1));
      }
      // The candidates (up to limit + 1 a table) are counted, never sorted: a sort holds at most the page's rows.
      const sorts = all.filter((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Incremental Sort');
      expect(sorts.filter((n) => n['Actual Rows'] > limit + 3).map((n) => `${n['Actual Rows']} rows by ${n['Sort Key']}`)).toEqual([]);
      const page = all[0]!;
      expect(page['Actual Rows']).toBe(limit + 2);
    },
  );
});
