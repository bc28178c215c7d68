import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { SchemaDefinition } from '@app/database';

/** Set by the e2e global setup: the server's admin URL and the migrated template database. */
export const E2E_ADMIN_URL = 'E2E_ADMIN_URL';
export const E2E_TEMPLATE_DB = 'E2E_TEMPLATE_DB';
export const E2E_DB_PREFIX = 'ds_e2e_';

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs SQL on the server's maintenance database (to cut connections, for example). */
  admin<T = unknown>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own for one suite, copied from the template that global setup
 * migrated once: suites run in parallel without seeing each other's rows.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env[E2E_ADMIN_URL];
  const template = process.env[E2E_TEMPLATE_DB];
  if (!adminUrl || !template) throw new Error('e2e global setup did not run (E2E_ADMIN_URL/E2E_TEMPLATE_DB unset)');
  const name = `${template.replace(/_tmpl$/, '')}_${randomBytes(4).toString('hex')}`;
  const admin = <T>(sql: string, params?: unknown[]) => withClient(adminUrl, async (c) => (await c.query(sql, params)).rows as T[]);
  await admin(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  return {
    name,
    url: databaseUrl(adminUrl, name),
    admin,
    drop: async () => {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** (Re)creates `template` on the server and runs every migration of `schema` in it. */
export async function createMigratedTemplate(adminUrl: string, template: string, schema: SchemaDefinition): Promise<void> {
  await withClient(adminUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${template}"`);
  });
  const dataSource = new DataSource({
    type: 'postgres',
    url: databaseUrl(adminUrl, template),
    entities: schema.entities,
    migrations: schema.migrations,
    migrationsTableName: 'migrations',
  });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Drops the databases an interrupted earlier run left (`like` their names; `owner` reads the
 * pid of the run that made one from its name): those whose process is gone. Another run's
 * databases, still in use, and names with no pid are kept.
 */
export async function dropDatabasesOfDeadRuns(
  client: Client,
  like: string,
  owner: RegExp,
  onDrop: (database: string) => void = () => undefined,
): Promise<void> {
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [like]);
  for (const { datname } of rows) {
    const pid = Number(owner.exec(datname)?.[1]);
    if (!pid || isAlive(pid)) continue;
    onDrop(datname);
    await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
