import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { AppConfig } from '@app/config';
import { TransactionRunner } from '@app/database';
import { CONFLICT_ENTITY_TYPE } from '@app/sync-contract';
import { SyncMaintenanceRepository } from './sync-maintenance.repository';
import { SyncRegistry } from '../sync-registry.service';

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
    private readonly repo: SyncMaintenanceRepository,
    private readonly tx: TransactionRunner,
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

  async runOnce(): Promise<{ tombstones: number; receipts: number; conflicts: number; requests: number }> {
    const purged = await this.repo.whileLocked(PURGE_LOCK, async () => {
      const sync = this.config.get('sync', { infer: true });
      const conflicts = await this.expireConflicts(sync.conflictDays);
      const tombstones = await this.purgeTombstones(sync.tombstoneDays);
      const receipts = await this.repo.purgeReceipts(sync.receiptDays);
      // PROTOCOL 2.11: push records older than SYNC_REPLAY_DAYS (0: every one left from before).
      const requests = await this.repo.purgeRequests(sync.replayDays);
      if (tombstones + receipts + conflicts + requests > 0) this.logger.info({ tombstones, receipts, conflicts, requests }, 'sync purge');
      return { tombstones, receipts, conflicts, requests };
    });
    return purged ?? { tombstones: 0, receipts: 0, conflicts: 0, requests: 0 };
  }

  /**
   * The conflict inbox keeps SYNC_CONFLICT_DAYS (PROTOCOL 2.8): older live entries become
   * tombstones (so every device drops them), and inbox tombstones older than that are purged
   * like any tombstone (moving the horizon). Returns how many entries expired.
   */
  async expireConflicts(days: number): Promise<number> {
    const table = this.registry.find(CONFLICT_ENTITY_TYPE)?.table;
    if (!table) return 0;
    const cutoffUs = await this.repo.cutoffUs(days);
    let expired = 0;
    for (const familyId of await this.repo.familiesWithLiveRowsCreatedBefore(table, cutoffUs)) {
      expired += await this.tx.run((tx) => this.repo.expireFamily(tx, familyId, table, cutoffUs));
    }
    for (const familyId of await this.repo.familiesWithTombstonesBefore([table], cutoffUs)) {
      await this.tx.run((tx) => this.repo.purgeFamily(tx, familyId, [table], cutoffUs));
    }
    return expired;
  }

  async purgeTombstones(days: number): Promise<number> {
    const tables = this.registry.all().map((e) => e.resolver.table);
    const cutoffUs = await this.repo.cutoffUs(days);
    let purged = 0;
    for (const familyId of await this.repo.familiesWithTombstonesBefore(tables, cutoffUs)) {
      purged += await this.tx.run((tx) => this.repo.purgeFamily(tx, familyId, tables, cutoffUs));
    }
    return purged;
  }
}
