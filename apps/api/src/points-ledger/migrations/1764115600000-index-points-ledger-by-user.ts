import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A user's live ledger rows, for the points sum of the points badges. Created by the
 * gamification migration on databases migrated before this one (IF NOT EXISTS: then a
 * no-op); its owner's migration from now on.
 */
export class IndexPointsLedgerByUser1764115600000 implements MigrationInterface {
  name = 'IndexPointsLedgerByUser1764115600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS points_ledger_user_idx ON points_ledger (family_id, (data->>'userId')) WHERE deleted_us IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS points_ledger_user_idx');
  }
}
