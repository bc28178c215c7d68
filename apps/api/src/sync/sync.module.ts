import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { AppConfig } from '@app/config';
import { FamilyModule } from '../family/family.module';
import { RateLimitModule } from './rate-limit.module';
import { RateLimitStorage } from './rate-limit.storage';
import { DeltaService } from './delta.service';
import { SyncController } from './sync.controller';
import { SyncMaintenanceService } from './sync-maintenance.service';
import { SyncMetrics } from './sync-metrics';
import { SyncMetricsMiddleware } from './sync-metrics.middleware';
import { SyncRegistry } from './sync-registry.service';
import { SyncRepository } from './sync.repository';
import { SyncPullRepository } from './sync-pull.repository';
import { SyncPullService } from './sync-pull.service';
import { SyncDeviceRepository } from './sync-device.repository';
import { SyncDeviceService } from './sync-device.service';
import { SyncHookRunner } from './sync-hooks.service';
import { SyncObserver } from './sync-observer';
import { SyncMaintenanceRepository } from './sync-maintenance.repository';
import { UserThrottlerGuard } from './user-throttler.guard';

@Module({
  imports: [
    DiscoveryModule,
    FamilyModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitModule],
      inject: [ConfigService, RateLimitStorage],
      useFactory: (config: ConfigService<AppConfig, true>, storage: RateLimitStorage) => {
        const limit = config.get('sync', { infer: true }).rateLimitPerMinute;
        return { throttlers: [{ ttl: 60_000, limit: limit || 1, skipIf: () => limit === 0 }], storage };
      },
    }),
  ],
  controllers: [SyncController],
  providers: [
    SyncRegistry,
    SyncRepository,
    SyncPullRepository,
    SyncPullService,
    SyncDeviceRepository,
    SyncDeviceService,
    SyncHookRunner,
    SyncObserver,
    DeltaService,
    SyncMetrics,
    SyncMaintenanceRepository,
    SyncMaintenanceService,
    UserThrottlerGuard,
  ],
})
export class SyncModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(SyncMetricsMiddleware).forRoutes('sync/delta');
  }
}
