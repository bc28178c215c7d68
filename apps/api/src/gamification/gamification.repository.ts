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

  /** Per user: completed tasks, the days with a completion, and the sum of their live ledger rows. */
  async userStats(familyId: string, users: string[]): Promise<UserStats[]> {
    return this.sql.query(
      `SELECT u.user_id,
              (SELECT count(*) FROM task_completions c WHERE c.family_id = $1 AND c.user_id = u.user_id) AS tasks,
              (SELECT coalesce(array_agg(DISTINCT c.completed_day - date '1970-01-01'), '{}')
                 FROM task_completions c WHERE c.family_id = $1 AND c.user_id = u.user_id) AS days,
              (SELECT coalesce(sum((l.data->>'delta')::bigint), 0)
                 FROM points_ledger l WHERE l.family_id = $1 AND l.data->>'userId' = u.user_id AND l.deleted_us IS NULL) AS points
       FROM unnest($2::text[]) AS u(user_id)`,
      [familyId, users],
    );
  }
}
