import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TypedConfigService } from '@app/config';
import { ConfigService } from '@nestjs/config';
import { buildDataSourceOptions, SchemaDefinition } from './data-source-options';
import { resolveDatabaseServer } from './database-server';
import type { DatabaseServer } from './database-server';
import { TRANSACTION_SETTINGS, TransactionRunner, TransactionSettings } from './transaction-runner';

export const DATABASE_SERVER = Symbol('DATABASE_SERVER');

class DatabaseServerLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(DATABASE_SERVER) private readonly server: DatabaseServer,
    private readonly dataSource: DataSource,
  ) {}

  /** The pool must be closed before an embedded server is stopped under it. */
  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.server.stop();
  }
}

@Module({})
class DatabaseServerModule {
  static register(): DynamicModule {
    return {
      module: DatabaseServerModule,
      providers: [
        {
          provide: DATABASE_SERVER,
          inject: [ConfigService],
          useFactory: (config: TypedConfigService) => {
            const logger = new Logger('Database');
            return resolveDatabaseServer(config.get('database', { infer: true }), config.get('dataDir', { infer: true }), (message) =>
              logger.log(message),
            );
          },
        },
      ],
      exports: [DATABASE_SERVER],
    };
  }
}

/** TypeORM on the configured (or embedded) PostgreSQL, migrations run at start when enabled. */
@Module({})
export class DatabaseModule {
  static forRoot(schema: SchemaDefinition): DynamicModule {
    const server = DatabaseServerModule.register();
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        server,
        TypeOrmModule.forRootAsync({
          imports: [server],
          inject: [ConfigService, DATABASE_SERVER],
          useFactory: (config: TypedConfigService, db: DatabaseServer) =>
            buildDataSourceOptions(db.url, config.get('database', { infer: true }), schema),
        }),
      ],
      providers: [
        DatabaseServerLifecycle,
        TransactionRunner,
        {
          provide: TRANSACTION_SETTINGS,
          inject: [ConfigService],
          useFactory: (config: TypedConfigService): TransactionSettings => ({
            preparedStatements: config.get('database', { infer: true }).preparedStatements,
          }),
        },
      ],
      exports: [server, TransactionRunner],
    };
  }
}
