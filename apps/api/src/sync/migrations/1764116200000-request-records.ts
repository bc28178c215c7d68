import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PROTOCOL 2.11: one record per push (written by the push's own write statement), kept
 * SYNC_REPLAY_DAYS; and the cursor each device last confirmed (its request's `last_sync_at`
 * and `lanes`), kept with its visit, for `GET /sync/explain`.
 */
export class RequestRecords1764116200000 implements MigrationInterface {
  name = 'RequestRecords1764116200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sync_requests (
        family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        id uuid NOT NULL,
        device_id text NOT NULL,
        user_id text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        -- the family's position before and after the request, and the server's clock it met
        position_before_us bigint NOT NULL,
        position_us bigint NOT NULL,
        server_us bigint NOT NULL,
        atomic boolean NOT NULL,
        discarded boolean NOT NULL,
        max_skew_us bigint NOT NULL,
        changes jsonb NOT NULL,
        before jsonb NOT NULL,
        outcomes jsonb NOT NULL,
        applied integer NOT NULL,
        conflicts integer NOT NULL,
        errors integer NOT NULL,
        PRIMARY KEY (family_id, id)
      )`);
    await q.query('CREATE INDEX sync_requests_recent_idx ON sync_requests (family_id, recorded_at DESC)');
    await q.query('CREATE INDEX sync_requests_device_idx ON sync_requests (family_id, device_id, recorded_at DESC)');
    await q.query('CREATE INDEX sync_requests_purge_idx ON sync_requests (recorded_at)');
    await q.query('ALTER TABLE sync_devices ADD COLUMN last_sync_us bigint, ADD COLUMN lanes jsonb');
    // The lane cursors that go with resync_cursor_us (see SyncPullService): a page cursor is both.
    await q.query("ALTER TABLE sync_devices ADD COLUMN resync_lanes text NOT NULL DEFAULT ''");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE sync_devices DROP COLUMN last_sync_us, DROP COLUMN lanes, DROP COLUMN resync_lanes');
    await q.query('DROP TABLE sync_requests');
  }
}
