import { join } from 'node:path';
import { EmbeddedPostgres, startEmbeddedPostgres } from '../../libs/database/src/embedded-postgres';
import { databaseUrl, dropDatabasesOfDeadRuns, withClient } from '../../libs/testing/src/test-database';

/**
 * The PostgreSQL server of a bench run (DATABASE_URL / TEST_DATABASE_URL, else an embedded one
 * in .data/pg-bench) and a fresh database `bench_<pid>` on it; databases left by interrupted
 * earlier runs (their process is gone) are dropped. Cleanups are pushed for the caller to run.
 */
export async function benchDatabase(
  root: string,
  log: (message: string) => void,
  cleanups: (() => Promise<void>)[],
): Promise<{ adminUrl: string; benchUrl: string; embedded?: EmbeddedPostgres }> {
  let adminUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
  let embedded: EmbeddedPostgres | undefined;
  if (!adminUrl) {
    const port = Number(process.env.BENCH_PG_PORT ?? 54331);
    log(`no DATABASE_URL/TEST_DATABASE_URL: starting the embedded PostgreSQL in .data/pg-bench on port ${port}`);
    // BENCH_PG_SETTINGS=shared_buffers=1GB,max_wal_size=8GB: server settings for this run (the defaults otherwise).
    const settings = Object.fromEntries(
      (process.env.BENCH_PG_SETTINGS ?? '')
        .split(',')
        .filter((s) => s.includes('='))
        .map((s) => [s.slice(0, s.indexOf('=')).trim(), s.slice(s.indexOf('=') + 1).trim()]),
    );
    if (Object.keys(settings).length > 0) log(`embedded PostgreSQL settings: ${JSON.stringify(settings)}`);
    embedded = await startEmbeddedPostgres({ dataDir: join(root, '.data', 'pg-bench'), port, database: 'postgres', log, settings });
    cleanups.push(() => embedded!.stop());
    adminUrl = embedded.url;
  }
  const dbName = `bench_${process.pid}`;
  await withClient(adminUrl, async (client) => {
    await dropDatabasesOfDeadRuns(client, 'bench\\_%', /^bench_(\d+)$/, (name) =>
      log(`dropping ${name}, left by an interrupted earlier run`),
    );
    await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${dbName}"`);
  });
  cleanups.push(() => withClient(adminUrl!, async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`))));
  return { adminUrl, benchUrl: databaseUrl(adminUrl, dbName), embedded };
}
