import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A device's sync history (PROTOCOL 2.8) from its receipts: which entity, which action, where in
 * its batch. Receipts written before this migration have no such columns: their entity is
 * read from the outcome, their action is unknown (null).
 */
export class ReceiptHistory1764115800000 implements MigrationInterface {
  name = 'ReceiptHistory1764115800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE sync_receipts
        ADD COLUMN entity_type text,
        ADD COLUMN entity_id text,
        ADD COLUMN action text,
        ADD COLUMN change_index integer`);
    await q.query(`CREATE INDEX sync_receipts_history_idx ON sync_receipts (family_id, device_id, created_at DESC, change_index DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX sync_receipts_history_idx');
    await q.query('ALTER TABLE sync_receipts DROP COLUMN entity_type, DROP COLUMN entity_id, DROP COLUMN action, DROP COLUMN change_index');
  }
}
