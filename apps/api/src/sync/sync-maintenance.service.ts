import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import type { AppConfig } from '@app/config';
import { SyncRegistry } from './sync-registry.service';

const DAY_US = 86_400_000_000;
const EVERY_MS = 60 * 60_000;
/** Advisory lock key: one instance purges at a time. */
const PURGE_LOCK = 7_346_001;

/**
 * Purges tombstones older than SYNC_TOMBSTONE_DAYS and receipts older than
 * SYNC_RECEIPT_DAYS, hourly. A family's tombstones are purged under its sync lock, and its
 * horizon moves to the newest purged position in the same transaction: a client whose
 * watermark is older gets `resync_required`.
 */
@Injectable()
export class SyncMaintenanceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: SyncRegistry,
    private readonly config: ConfigService<AppConfig, true>,
    @InjectPinoLogger(SyncMaintenanceService.name) private readonly logger: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.get('env', { infer: true }) === 'test') return;
    this.timer = setInterval(() => void this.runOnce().catch((err) => this.logger.error({ err }, 'sync purge failed')), EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async runOnce(): Promise<{ tombstones: number; receipts: number }> {
    const [{ locked }] = await this.dataSource.query('SELECT pg_try_advisory_lock($1) AS locked', [PURGE_LOCK]);
    if (!locked) return { tombstones: 0, receipts: 0 };
    try {
      const sync = this.config.get('sync', { infer: true });
      const tombstones = await this.purgeTombstones(sync.tombstoneDays);
      const receipts = await this.purgeReceipts(sync.receiptDays);
      if (tombstones + receipts > 0) this.logger.info({ tombstones, receipts }, 'sync purge');
      return { tombstones, receipts };
    } finally {
      await this.dataSource.query('SELECT pg_advisory_unlock($1)', [PURGE_LOCK]);
    }
  }

  async purgeTombstones(days: number): Promise<number> {
    const tables = this.registry.all().map((e) => e.resolver.table);
    const [{ cutoff }] = await this.dataSource.query(
      `SELECT ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint - $1::bigint) AS cutoff`,
      [days * DAY_US],
    );
    const families: { family_id: string }[] = await this.dataSource.query(
      tables.map((t) => `SELECT family_id FROM ${t} WHERE deleted_us < $1`).join(' UNION '),
      [cutoff],
    );
    let purged = 0;
    for (const { family_id: familyId } of families) {
      purged += await this.dataSource.transaction(async (manager) => {
        await manager.query('SELECT 1 FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [familyId]);
        let count = 0;
        let horizon = 0;
        for (const table of tables) {
          const [rows] = await manager.query(`DELETE FROM ${table} WHERE family_id = $1 AND deleted_us < $2 RETURNING deleted_us`, [familyId, cutoff]);
          for (const row of rows as { deleted_us: string }[]) horizon = Math.max(horizon, Number(row.deleted_us));
          count += (rows as unknown[]).length;
        }
        await manager.query('UPDATE family_sync_state SET horizon_us = greatest(horizon_us, $2) WHERE family_id = $1', [familyId, horizon]);
        // A device paging through a full state may have missed the deletes just purged: its
        // cursor no longer vouches for a continuation, its next page restarts the resync.
        if (count > 0) await manager.query('UPDATE sync_devices SET resync_cursor_us = NULL WHERE family_id = $1 AND resync_cursor_us IS NOT NULL', [familyId]);
        return count;
      });
    }
    return purged;
  }

  async purgeReceipts(days: number): Promise<number> {
    const [, count] = await this.dataSource.query(`DELETE FROM sync_receipts WHERE created_at < now() - make_interval(days => $1)`, [days]);
    return Number(count);
  }
}
