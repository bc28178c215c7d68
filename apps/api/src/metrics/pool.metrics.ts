import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { Gauge, register } from 'prom-client';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

/** The pools of the apps alive in this process (one in production; tests boot several). */
const pools = new Set<Pool>();
const sum = (read: (pool: Pool) => number) => [...pools].reduce((n, pool) => n + read(pool), 0);

function gauge(name: string, help: string, read: (pool: Pool) => number): void {
  if (register.getSingleMetric(name)) return;
  new Gauge({
    name,
    help,
    collect() {
      this.set(sum(read));
    },
  });
}

gauge('sync_db_pool_in_use', 'Pooled database connections checked out by requests', (p) => p.totalCount - p.idleCount);
gauge('sync_db_pool_waiting', 'Requests waiting for a pooled database connection', (p) => p.waitingCount);
gauge('sync_db_pool_max', 'Size of the database pool (DB_POOL_SIZE)', (p) => (p as Pool & { options: { max: number } }).options.max);

/**
 * Pool gauges read at scrape time: connections in use, requests waiting for one, the size.
 * Waiting above 0 for minutes means the pool, not the CPU, limits the pod.
 */
@Injectable()
export class PoolMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private pool?: Pool;

  constructor(private readonly dataSource: DataSource) {}

  onApplicationBootstrap(): void {
    this.pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    pools.add(this.pool);
  }

  onApplicationShutdown(): void {
    if (this.pool) pools.delete(this.pool);
  }
}
