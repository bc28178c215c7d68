import { Logger } from '@nestjs/common';
import type { ClientBase } from 'pg';
import { DataSourceOptions, MixedList } from 'typeorm';
import { DatabaseConfig } from '@app/config';
import { describeDatabaseError } from './database-errors';

export interface SchemaDefinition {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM types entity and migration lists as MixedList<Function>
  entities: MixedList<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM types entity and migration lists as MixedList<Function>
  migrations: MixedList<Function>;
}

const poolLogger = new Logger('DatabasePool');

/**
 * Every pooled client gets an `error` listener for its whole life. node-postgres emits
 * `error` on a Client whose session dies (pg_terminate_backend, failover, a pooler restart);
 * pg-pool listens only while the client is idle, and TypeORM's QueryRunner removes its own
 * listener when it releases the client on the first error. A checked-out client between two
 * statements, or one that errs twice, would otherwise throw the event and kill the process.
 * The request that holds it fails on its next statement and answers 503 (the filter logs that
 * once per request); a broken client is never reused (pg-pool drops clients that are not
 * queryable, and TypeORM releases them with the error).
 */
export function guardClient(client: ClientBase): void {
  client.on('error', (error) => poolLogger.debug?.({ ...describeDatabaseError(error), msg: 'database connection lost' }));
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
    // An idle pooled client whose session died: pg-pool drops it and reports it here.
    poolErrorHandler: (error: unknown) => poolLogger.warn({ ...describeDatabaseError(error), msg: 'idle database connection lost' }),
    extra: {
      onConnect: guardClient,
      // Applied by the server to every session of the pool.
      options: `-c statement_timeout=${db.statementTimeoutMs} -c lock_timeout=${db.statementTimeoutMs}`,
      connectionTimeoutMillis: 5000,
      application_name: 'delta-sync',
    },
  };
}
