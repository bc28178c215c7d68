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
