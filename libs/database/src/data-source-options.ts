import { DataSourceOptions, MixedList } from 'typeorm';
import { DatabaseConfig } from '@app/config';

export interface SchemaDefinition {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function>;
}

/**
 * The one place that turns configuration into TypeORM options, shared by the service and
 * the TypeORM CLI (`ormconfig.ts`). Entities and migrations are listed explicitly by the
 * app: globs break once the code is bundled or moved.
 */
export function buildDataSourceOptions(url: string, db: DatabaseConfig, schema: SchemaDefinition): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: schema.entities,
    migrations: schema.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    migrationsRun: db.migrationsRun,
    synchronize: false,
    poolSize: db.poolSize,
    extra: {
      // Applied by the server to every session of the pool.
      options: `-c statement_timeout=${db.statementTimeoutMs} -c lock_timeout=${db.statementTimeoutMs}`,
      connectionTimeoutMillis: 5000,
      application_name: 'delta-sync',
    },
  };
}
