// globalSetup runs outside Jest's module mapper: resolve the @app/* aliases from tsconfig.json.
import 'tsconfig-paths/register';
import 'reflect-metadata';
import { join } from 'node:path';
import { appSchema } from '../../apps/api/src/app.schema';
import { startEmbeddedPostgres } from '../../libs/database/src/embedded-postgres';
import {
  createMigratedTemplate,
  dropDatabasesOfDeadRuns,
  E2E_ADMIN_URL,
  E2E_DB_PREFIX,
  E2E_TEMPLATE_DB,
  withClient,
} from '../../libs/testing/src/test-database';

/**
 * Once per `npm test`: find a PostgreSQL (TEST_DATABASE_URL, DATABASE_URL, else an embedded
 * one in .data/pg-test), migrate a template database, and hand both to the suites, which
 * each copy the template into a database of their own.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!adminUrl) {
    const server = await startEmbeddedPostgres({
      dataDir: join(__dirname, '..', '..', '.data', 'pg-test'),
      port: Number(process.env.EMBEDDED_TEST_PG_PORT ?? 54330),
      database: 'postgres',
      fast: true,
    });
    (globalThis as { embeddedPostgres?: typeof server }).embeddedPostgres = server;
    adminUrl = server.url;
  }
  const template = `${E2E_DB_PREFIX}${process.pid}_tmpl`;
  await withClient(adminUrl, async (client) => {
    // Databases left by an interrupted earlier run (its process is gone; a parallel run's are kept).
    await dropDatabasesOfDeadRuns(client, `${E2E_DB_PREFIX}%`, /^ds_e2e_(\d+)_/);
  });
  await createMigratedTemplate(adminUrl, template, appSchema);
  process.env[E2E_ADMIN_URL] = adminUrl;
  process.env[E2E_TEMPLATE_DB] = template;
}
