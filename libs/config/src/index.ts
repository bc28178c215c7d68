export * from './app-config';
export * from './environment-variables';
export * from './load-config';
export * from './app-config.module';
