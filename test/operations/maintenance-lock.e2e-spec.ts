import { DataSource } from 'typeorm';
import { withClient } from '@app/testing';
import { SyncMaintenanceRepository } from '../../apps/api/src/sync/maintenance/sync-maintenance.repository';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The hourly maintenance runs on one instance at a time under a transaction-level advisory
 * lock (pg_try_advisory_xact_lock): it holds while the work runs, a second run meanwhile
 * skips, and it ends with the transaction, also when the work fails. Transaction-level, so a
 * transaction-mode pooler keeps it on one server connection (pgbouncer.long-spec.ts).
 */
const KEY = 42_4242;

describe('maintenance: a transaction-level advisory lock around the run', () => {
  let t: TestApp;
  let repo: SyncMaintenanceRepository;
  const heldElsewhere = (url: string) =>
    withClient(url, async (c) => (await c.query('SELECT pg_try_advisory_lock($1) AS free', [KEY])).rows[0].free === false);

  beforeAll(async () => {
    t = await startTestApp();
    repo = t.app.get(SyncMaintenanceRepository);
  });
  afterAll(() => t?.close());

  it('holds the lock in an open transaction while the work runs; a concurrent run skips; released after', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = repo.whileLocked(KEY, async () => {
      started();
      await gate;
      return 'done';
    });
    await running;
    expect(await heldElsewhere(t.db.url)).toBe(true);
    const [holder] = await t.app
      .get(DataSource)
      .query(
        `SELECT state, query FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_try_advisory_xact_lock%' AND pid <> pg_backend_pid()`,
      );
    expect(holder).toEqual({ state: 'idle in transaction', query: expect.stringContaining('pg_try_advisory_xact_lock') });
    expect(await repo.whileLocked(KEY, async () => 'second')).toBeUndefined();
    release();
    expect(await first).toBe('done');
    expect(await heldElsewhere(t.db.url)).toBe(false);
  });

  it('a failing run rolls back, releases the lock and rethrows', async () => {
    await expect(
      repo.whileLocked(KEY, async () => {
        throw new Error('purge failed');
      }),
    ).rejects.toThrow('purge failed');
    expect(await heldElsewhere(t.db.url)).toBe(false);
    expect(await repo.whileLocked(KEY, async () => 'again')).toBe('again');
  });
});
