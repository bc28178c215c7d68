import { DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, register } from 'prom-client';
import type { AppConfig } from '@app/config';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics-server';
import { PoolMetrics } from './pool.metrics';

/** The process defaults, once per process (a test process boots many apps on one registry). */
function collectDefaultMetricsOnce(): void {
  if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
}

/** `/metrics` on the API port, or with METRICS_PORT set on that port only. */
@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    collectDefaultMetricsOnce();
    if (config.http.metricsPort !== undefined)
      return { module: MetricsModule, providers: [MetricsServer, PoolMetrics], exports: [MetricsServer] };
    return {
      module: MetricsModule,
      imports: [PrometheusModule.register({ path: '/metrics', controller: MetricsController, defaultMetrics: { enabled: false } })],
      providers: [PoolMetrics],
    };
  }
}
