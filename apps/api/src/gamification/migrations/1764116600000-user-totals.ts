import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-user running totals for PROTOCOL 2.3's badges and streaks: tasks completed, the days with a
 * completion, the ledger's points. Each completion used to count the user's task_completions and
 * sum the user's whole points ledger (jsonb), a cost that grew with the user's history (issue 32:
 * the 10-minute soak of the family mix slowed down minute after minute; after 90 s a user with
 * 690 completions took 20 ms per completing push in that one statement).
 *
 * The totals are kept by statement-level triggers with transition tables, so every writer of
 * task_completions or points_ledger (the hook, a client's ledger create, an operator's fix) moves
 * them in the same transaction, once per statement, set-based. Rows of one family are written
 * under the family's sync lock, so two transactions never race on a user's row. Ledger rows are
 * append-only (PROTOCOL 2.3 rule 6): an update that tombstones or changes one is accounted for;
 * a hard delete happens only when the family goes, and its totals go with it (ON DELETE CASCADE).
 */
export class UserTotals1764116600000 implements MigrationInterface {
  name = 'UserTotals1764116600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE user_totals (
        family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        user_id text NOT NULL,
        tasks bigint NOT NULL DEFAULT 0,
        days integer[] NOT NULL DEFAULT '{}',
        points bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (family_id, user_id)
      ) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000)`);
    // days: sorted, distinct, as days since 1970-01-01 (what the streak rules read).
    await q.query(`
      CREATE FUNCTION user_totals_after_completions() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO user_totals AS t (family_id, user_id, tasks, days)
        SELECT family_id, user_id, count(*),
               array_agg(DISTINCT completed_day - date '1970-01-01' ORDER BY completed_day - date '1970-01-01')
        FROM new_rows GROUP BY family_id, user_id ORDER BY family_id, user_id
        ON CONFLICT (family_id, user_id) DO UPDATE SET
          tasks = t.tasks + excluded.tasks,
          days = CASE WHEN excluded.days <@ t.days THEN t.days
                      ELSE ARRAY(SELECT DISTINCT d FROM unnest(t.days || excluded.days) AS d ORDER BY d) END;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION user_totals_after_ledger_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO user_totals AS t (family_id, user_id, points)
        SELECT family_id, data->>'userId', sum((data->>'delta')::bigint)
        FROM new_rows WHERE deleted_us IS NULL AND data->>'userId' IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (family_id, user_id) DO UPDATE SET points = t.points + excluded.points;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION user_totals_after_ledger_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO user_totals AS t (family_id, user_id, points)
        SELECT family_id, user_id, sum(delta) FROM (
          SELECT family_id, data->>'userId' AS user_id, (data->>'delta')::bigint AS delta FROM new_rows WHERE deleted_us IS NULL
          UNION ALL
          SELECT family_id, data->>'userId', -(data->>'delta')::bigint FROM old_rows WHERE deleted_us IS NULL
        ) AS d WHERE user_id IS NOT NULL
        GROUP BY 1, 2 HAVING sum(delta) <> 0 ORDER BY 1, 2
        ON CONFLICT (family_id, user_id) DO UPDATE SET points = t.points + excluded.points;
        RETURN NULL;
      END $$`);
    // CREATE TRIGGER locks both tables against writes until this migration commits, so the
    // backfill below sees every row that will ever be written without the triggers.
    await q.query(`
      CREATE TRIGGER task_completions_user_totals AFTER INSERT ON task_completions
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_totals_after_completions()`);
    await q.query(`
      CREATE TRIGGER points_ledger_user_totals_insert AFTER INSERT ON points_ledger
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_totals_after_ledger_insert()`);
    await q.query(`
      CREATE TRIGGER points_ledger_user_totals_update AFTER UPDATE ON points_ledger
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_totals_after_ledger_update()`);
    await q.query(`
      INSERT INTO user_totals (family_id, user_id, tasks, days, points)
      SELECT coalesce(c.family_id, l.family_id), coalesce(c.user_id, l.user_id),
             coalesce(c.tasks, 0), coalesce(c.days, '{}'), coalesce(l.points, 0)
      FROM (SELECT family_id, user_id, count(*) AS tasks,
                   array_agg(DISTINCT completed_day - date '1970-01-01' ORDER BY completed_day - date '1970-01-01') AS days
            FROM task_completions GROUP BY 1, 2) AS c
      FULL JOIN (SELECT family_id, data->>'userId' AS user_id, sum((data->>'delta')::bigint) AS points
                 FROM points_ledger WHERE deleted_us IS NULL AND data->>'userId' IS NOT NULL GROUP BY 1, 2) AS l
        ON l.family_id = c.family_id AND l.user_id = c.user_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER points_ledger_user_totals_update ON points_ledger');
    await q.query('DROP TRIGGER points_ledger_user_totals_insert ON points_ledger');
    await q.query('DROP TRIGGER task_completions_user_totals ON task_completions');
    await q.query('DROP FUNCTION user_totals_after_ledger_update(), user_totals_after_ledger_insert(), user_totals_after_completions()');
    await q.query('DROP TABLE user_totals');
  }
}
