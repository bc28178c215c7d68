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
    // Per-user totals: completed days and count (streaks, task badges). The points sum of
    // the ledger has its index in the ledger's own migration (IndexPointsLedgerByUser); a
    // database migrated before that one got it here, where this migration once created it.
    await q.query(`CREATE INDEX task_completions_user_idx ON task_completions (family_id, user_id, completed_day)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE task_completions');
  }
}
