import { join } from 'node:path';
import { DatabaseConfig } from '@app/config';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface DatabaseServer {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** `DATABASE_URL` when configured, else the embedded PostgreSQL kept in `DATA_DIR/pg`. */
export async function resolveDatabaseServer(
  database: DatabaseConfig,
  dataDir: string,
  log: (message: string) => void,
): Promise<DatabaseServer> {
  if (database.url) return { url: database.url, embedded: false, stop: async () => undefined };
  const server = await startEmbeddedPostgres({
    dataDir: join(dataDir, 'pg'),
    port: database.embeddedPort,
    database: 'delta_sync',
    log,
  });
  log(
    `using the embedded PostgreSQL (no DATABASE_URL set): ${server.url}, data in ${server.dataDir}` +
      (server.reused ? ' (taken over from an earlier run)' : ''),
  );
  return { url: server.url, embedded: true, stop: () => server.stop() };
}
