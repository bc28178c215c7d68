import type { HookSql } from '@app/sync-contract';

export interface Completion {
  task_id: string;
  user_id: string;
  day: string;
  points: number;
}

export interface UserStats {
  user_id: string;
  tasks: string;
  days: number[];
  points: string;
}

/**
 * The SQL of the server computations, on the sync request's transaction: the hook gets it
 * bound with `ctx.repository(GamificationRepository)`.
 */
export class GamificationRepository {
  constructor(private readonly sql: HookSql) {}

  /** The first completion of each (task, user) counts; later ones are ignored. */
  async recordCompletions(familyId: string, completions: Completion[]): Promise<void> {
    await this.sql.query(
      `INSERT INTO task_completions (family_id, task_id, user_id, completed_day)
       SELECT $1, c.task_id, c.user_id, c.day FROM jsonb_to_recordset($2::jsonb) AS c(task_id text, user_id text, day date)
       ON CONFLICT DO NOTHING`,
      [familyId, JSON.stringify(completions)],
    );
  }

  /**
   * Per user: completed tasks, the days with a completion, the sum of their live ledger rows:
   * one row each from user_totals, kept by triggers (migration UserTotals), so the cost does not
   * grow with the user's history.
   */
  async userStats(familyId: string, users: string[]): Promise<UserStats[]> {
    return this.sql.query(
      `SELECT u.user_id, coalesce(t.tasks, 0) AS tasks, coalesce(t.days, '{}') AS days, coalesce(t.points, 0) AS points
       FROM unnest($2::text[]) AS u(user_id)
       LEFT JOIN user_totals t ON t.family_id = $1 AND t.user_id = u.user_id`,
      [familyId, users],
    );
  }
}
