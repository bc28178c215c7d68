import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { parseRestoreTime } from '../../apps/api/src/sync/maintenance/resync-horizon';
import { sqlClient } from '../support/db-state';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

const ROOT = join(__dirname, '..', '..');

/**
 * SPEC 3: after a restore from backup every device resyncs once. The backup is a consistent copy
 * of every table (one REPEATABLE READ snapshot), the restore puts it back with triggers off (as
 * `pg_restore --disable-triggers` would), and the real CLI (`npm run resync-horizon`) moves the
 * horizon. Without it, a device that synced after the backup point would keep what the restore
 * threw away as soon as anyone writes again (its watermark then looks current).
 */
describe('restore from backup: every device resyncs once (npm run resync-horizon)', () => {
  let t: TestApp;
  let sql: Client;
  let tables: string[];
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
    sql = await sqlClient(t, 'e2e-restore');
    const { rows } = await sql.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations' ORDER BY 1",
    );
    tables = rows.map((r) => r.name);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const backup = async () => {
    await sql.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await sql.query('DROP SCHEMA IF EXISTS backup CASCADE; CREATE SCHEMA backup');
    for (const table of tables) await sql.query(`CREATE TABLE backup.${table} AS TABLE public.${table}`);
    await sql.query('COMMIT');
  };
  const restore = async () => {
    await sql.query('BEGIN');
    await sql.query('SET LOCAL session_replication_role = replica');
    await sql.query(`TRUNCATE ${tables.map((n) => `public.${n}`).join(', ')}`);
    for (const table of tables) await sql.query(`INSERT INTO public.${table} SELECT * FROM backup.${table}`);
    await sql.query('COMMIT');
  };
  const runCli = (...args: string[]) =>
    promisify(execFile)(
      'npx',
      ['ts-node', '-r', 'tsconfig-paths/register', '--transpile-only', 'apps/api/src/cli/resync-horizon.ts', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test' },
      },
    );
  const task = (id: string) => change({ entity_id: id, data: { title: `Task ${id}` } });
  const ids = (changes: { entity_id: string }[]) => changes.map((c) => c.entity_id).sort();

  it('the device that synced after the backup point gets resync_required and the full state; its unsynced change is applied', async () => {
    const f = await createFamily(t, 'alice', 'Restore');
    const token = f.token();
    const phone = await syncOk(t, token, { device_id: 'phone', changes: [task('a1'), task('a2')] });
    await backup();

    // After the backup point: the tablet writes b1, the phone syncs it. The restore will lose b1.
    await syncOk(t, token, { device_id: 'tablet', changes: [task('b1')] });
    const phoneAfter = await syncOk(t, token, { device_id: 'phone', last_sync_at: phone.last_sync_at });
    expect(ids(phoneAfter.server_changes)).toEqual(['b1']);

    await restore();
    const { stdout } = await runCli();
    expect(stdout).toContain('resync horizon moved');

    // Someone writes after the restore: the family position moves past the phone's watermark.
    await syncOk(t, token, { device_id: 'laptop', changes: [task('c1')] });
    // The phone comes back with a change it made offline.
    const back = await syncOk(t, token, {
      device_id: 'phone',
      last_sync_at: phoneAfter.last_sync_at,
      changes: [task('p1')],
    });
    expect(back.resync_required).toBe(true);
    expect(back.applied.map((a) => a.entity_id)).toEqual(['p1']);
    // The full state: what the restored database holds plus the writes after it, not b1 (and
    // not p1, which the device has: PROTOCOL 2 does not echo a device's own changes).
    expect(ids(back.server_changes)).toEqual(['a1', 'a2', 'c1']);
    expect(back.has_more).toBe(false);

    // Once: its next sync is incremental again.
    const next = await syncOk(t, token, { device_id: 'phone', last_sync_at: back.last_sync_at });
    expect(next.resync_required).toBe(false);
    expect(next.server_changes).toEqual([]);
    // And a device that synced only before the backup point resyncs too (every watermark before the horizon).
    const tablet = await syncOk(t, token, { device_id: 'tablet', last_sync_at: phone.last_sync_at });
    expect(tablet.resync_required).toBe(true);

    // Run again later (another restore): watermarks issued before the new time resync, once.
    await runCli();
    const again = await syncOk(t, token, { device_id: 'phone', last_sync_at: next.last_sync_at });
    expect(again.resync_required).toBe(true);
    const settled = await syncOk(t, token, { device_id: 'phone', last_sync_at: again.last_sync_at });
    expect(settled.resync_required).toBe(false);
  }, 60_000);

  it('refuses a restore time in the future or not an ISO time, before touching the database', async () => {
    expect(() => parseRestoreTime('2999-01-01T00:00:00Z')).toThrow('is in the future');
    expect(() => parseRestoreTime('yesterday')).toThrow('is not an ISO date-time');
    expect(parseRestoreTime('2026-12-07T10:00:00.000Z')).toBe(Date.parse('2026-12-07T10:00:00.000Z') * 1000);
    await expect(runCli('--at', 'yesterday')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('not an ISO date-time') });
  }, 30_000);
});
