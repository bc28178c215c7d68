import { QueryRunner } from 'typeorm';

/**
 * DDL of one synced entity table, shared by the entity modules' migrations.
 * - primary key (family_id, id): the batch load `family_id = $1 AND id = ANY($2)`;
 * - (family_id, changed_us): the pull `changed_us > $since ORDER BY changed_us LIMIT n`,
 *   unique because positions are strictly increasing per family;
 * - partial (deleted_us) index: the tombstone purge.
 */
export async function createSyncedTable(q: QueryRunner, table: string): Promise<void> {
  await q.query(`
    CREATE TABLE ${table} (
      family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
      id text NOT NULL CHECK (char_length(id) BETWEEN 1 AND 128),
      version integer NOT NULL CHECK (version >= 1),
      data jsonb,
      field_clocks jsonb NOT NULL DEFAULT '{}'::jsonb,
      client_us bigint NOT NULL,
      created_us bigint NOT NULL,
      changed_us bigint NOT NULL,
      deleted_us bigint,
      PRIMARY KEY (family_id, id),
      CHECK ((deleted_us IS NULL) = (data IS NOT NULL))
    )`);
  await q.query(`CREATE UNIQUE INDEX ${table}_pull_idx ON ${table} (family_id, changed_us)`);
  await q.query(`CREATE INDEX ${table}_tombstone_idx ON ${table} (deleted_us) WHERE deleted_us IS NOT NULL`);
}

export async function dropSyncedTable(q: QueryRunner, table: string): Promise<void> {
  await q.query(`DROP TABLE ${table}`);
}

/**
 * PROTOCOL 2.10: `field_positions` (`{"field": position}`), the position of the write that
 * last wrote each field of `data`, kept by a trigger before every insert and update, so every
 * writer keeps it (pushes, server computations, migrations) within its own statement. A field
 * whose value did not change keeps its position (unknown: the row's previous position, which
 * is at least as late); a field that disappeared from `data`, or a tombstone, makes the whole
 * map unknown (NULL: the entity is pulled whole). Entity tables created after this call it in
 * their migration, after createSyncedTable, then fieldPositionsFromWriter.
 */
export async function addFieldPositions(q: QueryRunner, table: string): Promise<void> {
  await q.query(`
    CREATE OR REPLACE FUNCTION sync_field_positions() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.data IS NULL OR jsonb_typeof(NEW.data) <> 'object' THEN
        NEW.field_positions := NULL;
      ELSIF TG_OP = 'INSERT' OR OLD.data IS NULL OR jsonb_typeof(OLD.data) <> 'object' THEN
        NEW.field_positions := (SELECT coalesce(jsonb_object_agg(k, NEW.changed_us), '{}'::jsonb) FROM jsonb_object_keys(NEW.data) AS k);
      ELSIF NEW.data = OLD.data AND NEW.changed_us = OLD.changed_us THEN
        NEW.field_positions := OLD.field_positions;
      ELSIF EXISTS (SELECT 1 FROM jsonb_object_keys(OLD.data) AS k WHERE NOT NEW.data ? k) THEN
        NEW.field_positions := NULL;
      ELSE
        NEW.field_positions := (
          SELECT coalesce(jsonb_object_agg(k, CASE WHEN NEW.data -> k IS DISTINCT FROM OLD.data -> k THEN to_jsonb(NEW.changed_us)
                                                   ELSE coalesce(OLD.field_positions -> k, to_jsonb(OLD.changed_us)) END), '{}'::jsonb)
          FROM jsonb_object_keys(NEW.data) AS k);
      END IF;
      RETURN NEW;
    END $$`);
  await q.query(`ALTER TABLE ${table} ADD COLUMN field_positions jsonb`);
  await q.query(
    `CREATE TRIGGER ${table}_field_positions BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION sync_field_positions()`,
  );
}

export async function dropFieldPositions(q: QueryRunner, table: string): Promise<void> {
  await q.query(`DROP TRIGGER ${table}_field_positions ON ${table}`);
  await q.query(`ALTER TABLE ${table} DROP COLUMN field_positions`);
}

/**
 * The trigger of addFieldPositions, run only where the writer did not supply the positions
 * itself (issue 32: the plpgsql call per row doubled the cost of a 500-row push). The push
 * path computes them with `positionsAfter` (the trigger's rules in TypeScript); every other
 * writer leaves the column alone and the trigger keeps it: the insert of a first version
 * without positions, or an update that leaves them null or as they were. An upsert of an
 * existing row (version 2 or more) is left to the update trigger, which sees the old row: the
 * insert trigger would compute a new row's positions into EXCLUDED, which the update takes.
 */
export async function fieldPositionsFromWriter(q: QueryRunner, table: string): Promise<void> {
  await q.query(`DROP TRIGGER ${table}_field_positions ON ${table}`);
  await q.query(
    `CREATE TRIGGER ${table}_field_positions_insert BEFORE INSERT ON ${table} FOR EACH ROW
     WHEN (NEW.field_positions IS NULL AND NEW.version = 1) EXECUTE FUNCTION sync_field_positions()`,
  );
  await q.query(
    `CREATE TRIGGER ${table}_field_positions_update BEFORE UPDATE ON ${table} FOR EACH ROW
     WHEN (NEW.field_positions IS NULL OR NEW.field_positions IS NOT DISTINCT FROM OLD.field_positions)
     EXECUTE FUNCTION sync_field_positions()`,
  );
}

export async function fieldPositionsFromTrigger(q: QueryRunner, table: string): Promise<void> {
  await q.query(`DROP TRIGGER ${table}_field_positions_insert ON ${table}`);
  await q.query(`DROP TRIGGER ${table}_field_positions_update ON ${table}`);
  await q.query(
    `CREATE TRIGGER ${table}_field_positions BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION sync_field_positions()`,
  );
}
