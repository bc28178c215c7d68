import { Client } from 'pg';
import { sqlClient } from '../support/db-state';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** Issue 32: storage settings of the tables every push writes (migration VacuumHotTables). */
describe('vacuum and HOT settings of the hot tables', () => {
  let t: TestApp;
  let sql: Client;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
    sql = await sqlClient(t, 'e2e-vacuum-settings');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const options = async (table: string) => {
    const { rows } = await sql.query('SELECT reloptions FROM pg_class WHERE oid = $1::regclass', [table]);
    return (rows[0].reloptions ?? []) as string[];
  };

  it('entity tables are vacuumed after 2% dead rows; counter tables keep room for HOT updates', async () => {
    for (const table of ['tasks', 'events', 'points_ledger', 'user_streaks', 'badges', 'conflicts'])
      expect(await options(table)).toEqual(
        expect.arrayContaining(['autovacuum_vacuum_scale_factor=0.02', 'autovacuum_vacuum_threshold=1000']),
      );
    for (const table of ['family_sync_state', 'sync_devices', 'sync_resolution_decisions'])
      expect(await options(table)).toEqual(expect.arrayContaining(['fillfactor=70', 'autovacuum_vacuum_scale_factor=0']));
  });

  it('the per-push updates of the family position and the device stay HOT (no column they change is indexed)', async () => {
    const f = await createFamily(t, 'alice', 'HOT');
    await syncOk(t, f.token(), { device_id: 'phone' }); // the device's row exists: each push below updates it
    const before = await hotCounts();
    for (let i = 0; i < 40; i++)
      await syncOk(t, f.token(), { device_id: 'phone', changes: [change({ entity_id: `t${i}`, data: { title: `T${i}` } })] });
    // Backends report their table counters at most every second, or after 10 s idle.
    let after = await hotCounts();
    for (let tries = 0; tries < 150 && Object.values(after).some((c, i) => c.upd - Object.values(before)[i].upd < 40); tries++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await hotCounts();
    }
    for (const table of Object.keys(after)) {
      const upd = after[table].upd - before[table].upd;
      const hot = after[table].hot - before[table].hot;
      expect({ table, upd: upd >= 40, hotShare: hot / upd >= 0.9 }).toEqual({ table, upd: true, hotShare: true });
    }
  });

  async function hotCounts(): Promise<Record<string, { upd: number; hot: number }>> {
    const { rows } = await sql.query(
      `SELECT relname, n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables
       WHERE relname IN ('family_sync_state', 'sync_devices') ORDER BY relname`,
    );
    return Object.fromEntries(rows.map((r) => [r.relname, { upd: r.upd, hot: r.hot }]));
  }
});
