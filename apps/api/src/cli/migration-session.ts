import { Client } from 'pg';
import type { DataSourceOptions } from 'typeorm';

/** Advisory lock key of a migration run (maintenance uses 7_346_001). */
export const MIGRATION_LOCK = 7_346_100;
/**
 * A migration's DDL waits at most this long for a table lock. A DDL statement waiting for
 * ACCESS EXCLUSIVE queues every later sync on that table behind it: better to fail the run
 * (the Job retries, backoffLimit) than to stall the service for as long as the service's
 * own 30 s lock_timeout. No statement_timeout: building an index may take long.
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 5_000;

/** The service's data source options with the migration session's timeouts instead. */
export function migrationSessionOptions<T extends DataSourceOptions>(options: T): T {
  const extra = (options as { extra?: Record<string, unknown> }).extra ?? {};
  return {
    ...options,
    extra: {
      ...extra,
      options: `-c statement_timeout=0 -c lock_timeout=${MIGRATION_LOCK_TIMEOUT_MS}`,
      application_name: 'delta-sync-migrate',
    },
  };
}

/**
 * Runs `work` while this process holds the migration advisory lock, on a session of its own:
 * a second run started at the same time (two Jobs, a Job and a DB_MIGRATIONS_RUN pod) waits
 * here, then finds nothing pending, so each migration is applied once. TypeORM takes no lock
 * of its own. The wait has no lock_timeout (the Job's activeDeadlineSeconds bounds it); the
 * lock goes with the session if the process dies. Needs a direct connection (a session-level
 * lock), not a transaction-mode pooler.
 */
export async function withMigrationLock<T>(url: string, work: () => Promise<T>, onWait: () => void): Promise<T> {
  const session = new Client({ connectionString: url, application_name: 'delta-sync-migrate-lock' });
  await session.connect();
  try {
    await session.query('SET lock_timeout = 0');
    const [{ locked }] = (await session.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK])).rows;
    if (!locked) {
      onWait();
      await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    }
    return await work();
  } finally {
    await session.end();
  }
}
