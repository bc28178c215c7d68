import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops the device-history index of the receipts. A push looks each of its receipts up by
 * primary key (family, device, change key); with this index beside it the planner, where
 * statistics are young, took the history index instead and scanned the device's whole
 * history once per change (a 500-change push took seconds). The history endpoint now reads
 * the device's receipts through the primary key's (family, device) prefix or the created_at
 * index and keeps the newest N, and every receipt written costs one index insertion less.
 */
export class ReceiptHistoryByKey1764115900000 implements MigrationInterface {
  name = 'ReceiptHistoryByKey1764115900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX sync_receipts_history_idx');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX sync_receipts_history_idx ON sync_receipts (family_id, device_id, created_at DESC, change_index DESC)`);
  }
}
