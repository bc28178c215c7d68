/**
 * Applies pending migrations and exits: `node dist/apps/api/migrate.js`
 * (`npm run migration:run:prod`). Compiled by `nest build` like the service, so it runs
 * in the production image (`npm run migration:run` needs the TypeScript sources and
 * tsconfig-paths, a dev dependency, neither of which is there). The
 * Kubernetes migration Job runs this once per release while the pods start with
 * DB_MIGRATIONS_RUN=false. `--revert` undoes the last migration instead. The run holds an
 * advisory lock (two runs at once apply each migration once) and its DDL waits at most
 * MIGRATION_LOCK_TIMEOUT_MS for a table lock (./migration-session.ts).
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { DatabaseConfig, loadConfig } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { appSchema } from '../app.schema';
import { cliLog, runCli } from './cli-run';
import { migrationSessionOptions, withMigrationLock } from './migration-session';

const log = cliLog('Migrate');

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // The service may start an embedded server for development; a release step must not.
  if (!config.database.url) throw new Error('DATABASE_URL is required to run migrations from the CLI');
  const url = config.database.url;
  await withMigrationLock(
    url,
    () => migrate(url, config.database),
    () => log('another migration run holds the lock: waiting for it'),
  );
}

async function migrate(url: string, database: DatabaseConfig): Promise<void> {
  const dataSource = new DataSource(
    migrationSessionOptions({ ...buildDataSourceOptions(url, { ...database, poolSize: 1 }, appSchema), migrationsRun: false }),
  );
  await dataSource.initialize();
  try {
    if (process.argv.includes('--revert')) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      log('reverted the last migration');
    } else {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      log(applied.length ? `applied ${applied.length} migration(s)` : 'no pending migration', { applied: applied.map((m) => m.name) });
    }
  } finally {
    await dataSource.destroy();
  }
}

runCli('Migrate', main);
