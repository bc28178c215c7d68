import { E2E_ADMIN_URL, E2E_DB_PREFIX, withClient } from '../../libs/testing/src/test-database';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env[E2E_ADMIN_URL];
  if (adminUrl) {
    await withClient(adminUrl, async (client) => {
      const mine = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
        `${E2E_DB_PREFIX}${process.pid}_%`,
      ]);
      for (const { datname } of mine.rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    });
  }
  await (globalThis as { embeddedPostgres?: { stop(): Promise<void> } }).embeddedPostgres?.stop();
}
