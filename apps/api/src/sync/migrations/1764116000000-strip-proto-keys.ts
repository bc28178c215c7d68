import { MigrationInterface, QueryRunner } from 'typeorm';

/** The synced tables and the receipts (their outcomes replay `server_data` to retries). */
const COLUMNS = [
  ['tasks', 'data'],
  ['events', 'data'],
  ['points_ledger', 'data'],
  ['user_streaks', 'data'],
  ['badges', 'data'],
  ['conflicts', 'data'],
  ['sync_receipts', 'outcome'],
] as const;

/**
 * PROTOCOL 2.13: nothing stored or pulled carries a `__proto__` key. The input guard refuses
 * it from now on; this removes it, at any depth, from what was stored before. Positions and
 * versions stay: a device that already pulled such a value keeps it until the entity's next
 * write (its SDK never spreads `data` into a prototype-bearing object: see the README).
 */
export class StripProtoKeys1764116000000 implements MigrationInterface {
  name = 'StripProtoKeys1764116000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION pg_temp.strip_proto(value jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE jsonb_typeof(value)
          WHEN 'object' THEN (SELECT coalesce(jsonb_object_agg(k, pg_temp.strip_proto(v)), '{}'::jsonb)
                              FROM jsonb_each(value) AS e(k, v) WHERE k <> '__proto__')
          WHEN 'array' THEN (SELECT coalesce(jsonb_agg(pg_temp.strip_proto(v) ORDER BY i), '[]'::jsonb)
                             FROM jsonb_array_elements(value) WITH ORDINALITY AS a(v, i))
          ELSE value END
      $$`);
    for (const [table, column] of COLUMNS) {
      // The text test finds candidates cheaply; the function rewrites only those.
      await q.query(`UPDATE ${table} SET ${column} = pg_temp.strip_proto(${column}) WHERE ${column}::text LIKE '%"\\_\\_proto\\_\\_":%'`);
    }
    await q.query('DROP FUNCTION pg_temp.strip_proto(jsonb)');
  }

  async down(): Promise<void> {
    // Nothing to restore: the keys removed were never valid input.
  }
}
