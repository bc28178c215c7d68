export * from './data-source-options';
export * from './database-server';
export * from './database.module';
export * from './embedded-postgres';
export * from './database-errors';
export * from './transaction';
export * from './transaction-runner';
export * from './sql-text';
