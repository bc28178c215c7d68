import { Client } from 'pg';
import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { sqlClient } from '../support/db-state';
import { CapturedQuery, captureQueries } from '../support/query-capture';

/**
 * A push looks up the receipts of its changes (exactly-once retries) by primary key, one
 * probe per change, whatever the device's history holds. Issue 13 found the load reading
 * the device's whole history instead (through a history index, with young statistics), a
 * cost that grew with every receipt the device had: a 500-change push took seconds after
 * a few thousand receipts. Checked on the statement the service really sent, against the
 * real tables, on a device with a thousand receipts.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed EXPLAIN JSON of open shape, read field by field
type PlanNode = Record<string, any>;

const creates = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => change({ entity_id: `${prefix}-${i}`, data: { title: `${prefix} ${i}` } }));

describe('receipt lookup of a push', () => {
  let t: TestApp;
  let sql: Client;
  let f: FamilyFixture;
  const earlier = creates('early', 50);

  beforeAll(async () => {
    t = await startTestApp();
    sql = await sqlClient(t, 'receipt-lookup');
    f = await createFamily(t, 'ann');
    await syncOk(t, f.token(), { device_id: 'phone', changes: earlier });
    for (let i = 0; i < 5; i++) await syncOk(t, f.token(), { device_id: 'phone', changes: creates(`batch${i}`, 200) });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('a retry of an old push is answered from its receipts: the same outcomes, nothing applied twice', async () => {
    const again = await syncOk(t, f.token(), { device_id: 'phone', changes: earlier });
    expect(again.applied).toHaveLength(50);
    expect(again.applied.every((a) => a.version === 1)).toBe(true);
    const { rows } = await sql.query('SELECT count(*)::int AS n, max(version) AS v FROM tasks WHERE family_id = $1', [f.familyId]);
    expect(rows[0]).toEqual({ n: 1050, v: 1 });
  });

  it('probes the primary key once per change and reads none of the device history (1,050 receipts)', async () => {
    const { rows } = await sql.query('SELECT count(*)::int AS n FROM sync_receipts WHERE family_id = $1 AND device_id = $2', [
      f.familyId,
      'phone',
    ]);
    expect(rows[0].n).toBe(1050);
    const push = [...earlier.slice(0, 5), ...creates('late', 5)];
    const captured = await captureQueries(async () => {
      await syncOk(t, f.token(), { device_id: 'phone', changes: push });
    });
    const load = captured.find((c) => /FROM sync_receipts/.test(c.text) && !/INSERT/.test(c.text));
    expect(load).toBeDefined();
    const scans = receiptScans(await explainAnalyze(sql, load!));
    expect(scans.length).toBeGreaterThan(0);
    for (const scan of scans) {
      expect(scan['Node Type']).toMatch(/^Index (Only )?Scan$/);
      expect(scan['Index Name']).toBe('sync_receipts_pkey');
      expect(scan['Index Cond']).toMatch(/change_key/);
      expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
    }
    // ten probes, each finding its receipt (replayed after the push, which wrote the five new ones)
    expect(scans.reduce((n, s) => n + s['Actual Loops'], 0)).toBe(10);
    expect(scans.reduce((n, s) => n + s['Actual Rows'] * s['Actual Loops'], 0)).toBe(10);
  });
});

/** EXPLAIN ANALYZE of a captured statement, in a transaction rolled back (it locks rows). */
async function explainAnalyze(sql: Client, s: CapturedQuery): Promise<PlanNode> {
  await sql.query('BEGIN');
  try {
    const { rows } = await sql.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${s.text}`, s.values);
    return rows[0]['QUERY PLAN'][0].Plan;
  } finally {
    await sql.query('ROLLBACK');
  }
}

function receiptScans(plan: PlanNode): PlanNode[] {
  const own = plan['Relation Name'] === 'sync_receipts' && plan['Node Type'] !== 'ModifyTable' ? [plan] : [];
  return [...own, ...(plan.Plans ?? []).flatMap(receiptScans)];
}
