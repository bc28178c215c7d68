import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { AppConfig } from '@app/config';
import { FamilyModule } from '../family/family.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RateLimitStorage } from './rate-limit/rate-limit.storage';
import { DeltaService } from './push/delta.service';
import { PgPushUnits } from './push/pg-push-units';
import { PushUnits } from './push/push-unit';
import { SyncController } from './sync.controller';
import { SyncMaintenanceService } from './maintenance/sync-maintenance.service';
import { SyncMetrics } from './metrics/sync-metrics';
import { SyncRegistry } from './sync-registry.service';
import { SyncRepository } from './push/sync.repository';
import { SyncPullRepository } from './pull/sync-pull.repository';
import { SyncPullService } from './pull/sync-pull.service';
import { SyncDeviceRepository } from './devices/sync-device.repository';
import { SyncDeviceService } from './devices/sync-device.service';
import { SyncHookRunner } from './push/sync-hooks.service';
import { SyncObserver } from './metrics/sync-observer';
import { SyncMaintenanceRepository } from './maintenance/sync-maintenance.repository';
import { UserThrottlerGuard } from './rate-limit/user-throttler.guard';
import { SyncRequestsController } from './requests/sync-requests.controller';
import { SyncRequestsRepository } from './requests/sync-requests.repository';
import { SyncRequestsService } from './requests/sync-requests.service';
import { ResolutionPoliciesController } from './policies/resolution-policies.controller';
import { ResolutionPolicies } from './policies/resolution-policies';

@Module({
  imports: [
    DiscoveryModule,
    FamilyModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitModule],
      inject: [ConfigService, RateLimitStorage],
      useFactory: (config: ConfigService<AppConfig, true>, storage: RateLimitStorage) => {
        const { rateLimitPerMinute: limit, rateLimitWindowMs: ttl } = config.get('sync', { infer: true });
        return { throttlers: [{ ttl, limit: limit || 1, skipIf: () => limit === 0 }], storage };
      },
    }),
  ],
  controllers: [SyncController, SyncRequestsController, ResolutionPoliciesController],
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
    { provide: PushUnits, useClass: PgPushUnits },
    SyncMetrics,
    SyncMaintenanceRepository,
    SyncMaintenanceService,
    UserThrottlerGuard,
    SyncRequestsRepository,
    SyncRequestsService,
    ResolutionPolicies,
  ],
})
export class SyncModule {}
