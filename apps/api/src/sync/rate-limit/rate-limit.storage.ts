import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import Redis from 'ioredis';
import type { AppConfig } from '@app/config';

type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Where SYNC_RATE_LIMIT counts: in Redis when RATE_LIMIT_REDIS_URL is set (every instance
 * counts together), else in this instance's memory. Redis being down never fails a sync:
 * the limit is skipped (fail open) and a warning is logged, at most once a minute.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RateLimitStorage.name);
  private readonly redis?: Redis;
  private readonly storage: ThrottlerStorage;
  private lastWarning = 0;

  constructor(@Inject(ConfigService) config: ConfigService<AppConfig, true>) {
    const url = config.get('sync', { infer: true }).rateLimitRedisUrl;
    if (url) {
      // No offline queue: while Redis is unreachable a count fails at once instead of waiting.
      this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
      this.redis.on('error', (err) => this.warn(err));
      this.storage = new ThrottlerStorageRedisService(this.redis);
    } else {
      this.storage = new ThrottlerStorageService();
    }
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerRecord> {
    try {
      return await this.storage.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (err) {
      this.warn(err);
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect(false);
    (this.storage as Partial<OnApplicationShutdown>).onApplicationShutdown?.();
  }

  private warn(err: unknown): void {
    if (Date.now() - this.lastWarning < 60_000) return;
    this.lastWarning = Date.now();
    this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'rate-limit store unavailable: requests are not limited');
  }
}
