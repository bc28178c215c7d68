export * from './test-database';
export * from './tokens';
export * from './resolver-fixtures';
