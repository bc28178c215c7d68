export * from './test-database';
export * from './tokens';
