import { Client } from 'pg';
import { withClient } from '@app/testing';
import { MIGRATION_LOCK } from '../../apps/api/src/cli/migration-session';
import { runMigrationJob, severalInstancesSuite } from '../support/several-instances-helpers';

/**
 * The migration Job's command (compiled migrate.js) against one empty database: two runs at
 * once apply each migration once (the second waits on the advisory lock, then finds nothing
 * pending), and a migration's DDL gives up after the short lock_timeout instead of queueing
 * the service's statements behind it.
 */
jest.setTimeout(240_000);

const lastLine = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('migrations: two runs at once, lock_timeout', () => {
  const { outDir, dbUrl } = severalInstancesSuite('migrate');

  it('two migrate.js runs in parallel: both succeed, every migration applied and recorded once', async () => {
    // Both runs must meet at the lock: one process can start 100 ms after the other on a busy
    // machine and find the first already done. The test holds the lock until both wait for it.
    const holder = new Client({ connectionString: dbUrl() });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const runs = Promise.all([runMigrationJob(outDir(), dbUrl()), runMigrationJob(outDir(), dbUrl())]);
    const waiting = () =>
      holder.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", [MIGRATION_LOCK]);
    for (let tries = 0; tries < 600 && (await waiting()).rows[0].n < 2; tries++) await new Promise((r) => setTimeout(r, 100));
    await holder.end();
    const [a, b] = await runs;
    const results = [lastLine(a.stdout), lastLine(b.stdout)].sort((x, y) => y.applied.length - x.applied.length);
    expect(results[0].msg).toMatch(/^applied \d+ migration\(s\)$/);
    expect(results[1]).toMatchObject({ msg: 'no pending migration', applied: [] });
    expect(`${a.stdout}${b.stdout}`).toMatch(/another migration run holds the lock: waiting for it/);
    const rows = await withClient(dbUrl(), (c) => c.query('SELECT name, count(*)::int AS n FROM migrations GROUP BY name'));
    expect(rows.rows.length).toBe(results[0].applied.length);
    expect(rows.rows.every((r: { n: number }) => r.n === 1)).toBe(true);
  });

  it("a migration waiting for a table lock fails within the migration's lock_timeout, changing nothing", async () => {
    const holder = new Client({ connectionString: dbUrl() });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      // Whatever the newest migration is, its revert changes some table's definition, which takes at least
      // SHARE UPDATE EXCLUSIVE on it; a VACUUM or an index build holds that mode: this lock, on every table, stands for one.
      const { rows } = await holder.query(
        "SELECT string_agg(format('%I', tablename), ', ') AS names FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'",
      );
      await holder.query(`LOCK TABLE ${rows[0].names} IN SHARE UPDATE EXCLUSIVE MODE`);
      const started = Date.now();
      const failure = await runMigrationJob(outDir(), dbUrl(), ['--revert']).catch((e: { stderr: string }) => e);
      expect((failure as { stderr: string }).stderr).toMatch(/lock timeout/);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await holder.end();
    }
    const after = await withClient(dbUrl(), (c) => c.query('SELECT count(*)::int AS n FROM migrations'));
    const again = lastLine((await runMigrationJob(outDir(), dbUrl())).stdout);
    expect(again).toMatchObject({ msg: 'no pending migration' });
    expect(after.rows[0].n).toBeGreaterThan(0);
  });
});
