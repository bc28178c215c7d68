import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTaskCompletions1764115500000 implements MigrationInterface {
  name = 'CreateTaskCompletions1764115500000';

  async up(q: QueryRunner): Promise<void> {
    // The first completion of each task by each user: its primary key is what makes a task
    // count (and award points) once per user, however often it is reopened and completed.
    await q.query(`
      CREATE TABLE task_completions (
        family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        task_id text NOT NULL,
        user_id text NOT NULL,
        completed_day date NOT NULL,
        PRIMARY KEY (family_id, task_id, user_id)
      )`);
    // Per-user totals: completed days and count (streaks, task badges) ...
    await q.query(`CREATE INDEX task_completions_user_idx ON task_completions (family_id, user_id, completed_day)`);
    // ... and the points sum of the ledger (points badges).
    await q.query(`CREATE INDEX points_ledger_user_idx ON points_ledger (family_id, (data->>'userId')) WHERE deleted_us IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX points_ledger_user_idx');
    await q.query('DROP TABLE task_completions');
  }
}
