import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig } from './app-config';

/** The validated configuration, typed: `config.get('sync', { infer: true })`. */
export type TypedConfigService = ConfigService<AppConfig, true>;

/**
 * Configuration is validated by `loadConfig` before Nest starts (main.ts, test helpers),
 * then handed to Nest's ConfigService, so every module reads the same typed values.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => config], cache: true })],
      exports: [ConfigModule],
    };
  }
}
