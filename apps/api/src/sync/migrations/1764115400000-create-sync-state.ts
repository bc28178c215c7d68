import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSyncState1764115400000 implements MigrationInterface {
  name = 'CreateSyncState1764115400000';

  async up(q: QueryRunner): Promise<void> {
    // The per-family sync lock row and the family's clock: last_us is the commit position of
    // its latest change, horizon_us the newest purged tombstone.
    await q.query(`
      CREATE TABLE family_sync_state (
        family_id uuid PRIMARY KEY REFERENCES families(id) ON DELETE CASCADE,
        last_us bigint NOT NULL DEFAULT 0,
        horizon_us bigint NOT NULL DEFAULT 0
      )`);
    // Exactly-once retries: the outcome of every change, by (family, device, change key).
    await q.query(`
      CREATE TABLE sync_receipts (
        family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        device_id text NOT NULL,
        change_key text NOT NULL,
        outcome jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (family_id, device_id, change_key)
      )`);
    await q.query(`CREATE INDEX sync_receipts_created_at_idx ON sync_receipts (created_at)`);
    await q.query(`
      CREATE TABLE sync_devices (
        family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        device_id text NOT NULL,
        user_id text NOT NULL,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        sync_count bigint NOT NULL DEFAULT 1,
        -- the device's cursor while it pages through a full state that ends below the horizon
        resync_cursor_us bigint,
        PRIMARY KEY (family_id, device_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE sync_devices');
    await q.query('DROP TABLE sync_receipts');
    await q.query('DROP TABLE family_sync_state');
  }
}
