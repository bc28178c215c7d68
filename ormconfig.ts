/**
 * The TypeORM CLI's data source (`npm run migration:run|revert|generate`). It reads the same
 * validated configuration as the service; without DATABASE_URL it starts the embedded
 * PostgreSQL and stops it again when the CLI exits.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { loadConfig } from '@app/config';
import { buildDataSourceOptions, resolveDatabaseServer } from '@app/database';
import { appSchema } from './apps/api/src/app.schema';

async function cliDataSource(): Promise<DataSource> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  const server = await resolveDatabaseServer(config.database, config.dataDir, (message) => process.stderr.write(`${message}\n`));
  if (server.embedded) {
    // The CLI calls process.exit(); stop the server once the process is done with it.
    process.once('beforeExit', () => void server.stop());
    const exit = process.exit.bind(process);
    process.exit = ((code?: number) => {
      server.stop().finally(() => exit(code));
    }) as typeof process.exit;
  }
  return new DataSource({ ...buildDataSourceOptions(server.url, config.database, appSchema), migrationsRun: false });
}

export default cliDataSource();
