import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig, AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { appSchema } from './app.schema';
import { AuthModule } from './auth/auth.module';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { InputGuardModule } from './common/input-guard.module';
import { loggerParams } from './common/logging';
import { BadgeModule } from './badge/badge.module';
import { ConflictModule } from './conflict/conflict.module';
import { EventModule } from './event/event.module';
import { FamilyModule } from './family/family.module';
import { GamificationModule } from './gamification/gamification.module';
import { PointsLedgerModule } from './points-ledger/points-ledger.module';
import { SyncModule } from './sync/sync.module';
import { TaskModule } from './task/task.module';
import { UserStreakModule } from './user-streak/user-streak.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { RealtimeModule } from './realtime/realtime.module';
import { demoEnabled } from './demo/demo-mode';
import { DemoModule } from './demo/demo.module';

/**
 * The root module, built from an already validated configuration (main.ts and the test
 * helpers both call `loadConfig` first), so tests boot exactly what production boots.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerParams(config.logLevel)),
        DatabaseModule.forRoot(appSchema),
        MetricsModule.forRoot(config),
        AuthModule,
        // PROTOCOL 2.6: every path parameter, query and body is scanned before anything else reads it.
        InputGuardModule,
        HealthModule,
        FamilyModule,
        TaskModule,
        EventModule,
        PointsLedgerModule,
        UserStreakModule,
        BadgeModule,
        ConflictModule,
        GamificationModule,
        SyncModule,
        RealtimeModule,
        // Development with the development JWT secret only: /demo and its token endpoint (404 otherwise).
        ...(demoEnabled(config) ? [DemoModule] : []),
      ],
      providers: [
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
            stopAtFirstError: false,
          }),
        },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ],
    };
  }
}
