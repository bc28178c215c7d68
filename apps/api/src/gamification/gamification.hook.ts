import { EntityData, isoToMicros, microsToIso, StateTransition, SyncBatchContext, SyncBatchHook, SyncHook } from '@app/sync-contract';
import { badgeId, earnedBadges } from './badge.rules';
import { computeStreak, utcDay } from './streak.rules';
import { Completion, GamificationRepository } from './gamification.repository';

const isDone = (data: EntityData | null | undefined) => data?.status === 'done';

/** `completedAt` in µs: an ISO date-time, or a date alone (`YYYY-MM-DD`, valid for tasks) as its UTC midnight. */
const completedAtUs = (value: unknown): number | undefined => {
  if (typeof value !== 'string') return undefined;
  return isoToMicros(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
};

/**
 * PROTOCOL 2.3, server-computed points, streaks and badges. Runs inside the sync transaction
 * after the batch is applied; writes through the sync write path, so the rows reach every
 * device (the requesting one included) in commit order. Set-based: one statement records
 * the completions, one reads every affected user's totals, one load and one write per type.
 */
@SyncHook()
export class GamificationHook implements SyncBatchHook {
  async afterBatch(ctx: SyncBatchContext): Promise<void> {
    const completions = this.completions(ctx);
    const ledgerUsers = ctx.transitions
      .filter((t) => t.entityType === 'points_ledger' && !t.before && typeof t.after.data?.userId === 'string')
      .map((t) => t.after.data!.userId as string);
    if (completions.length === 0 && ledgerUsers.length === 0) return;

    const repo = ctx.repository(GamificationRepository);
    if (completions.length > 0) await repo.recordCompletions(ctx.familyId, completions);
    await this.awardPoints(ctx, completions);

    const streakUsers = [...new Set(completions.map((c) => c.user_id))];
    const users = [...new Set([...streakUsers, ...ledgerUsers])];
    const stats = await repo.userStats(ctx.familyId, users);

    const today = utcDay(ctx.nowUs);
    const streaks = new Map(stats.map((s) => [s.user_id, computeStreak(s.days, today)]));
    await ctx.write(
      'user_streak',
      streakUsers.map((userId) => ({ id: userId, data: { ...streaks.get(userId)! } })),
    );

    const candidates = stats.flatMap((s) =>
      earnedBadges({ completedTasks: Number(s.tasks), longestStreak: streaks.get(s.user_id)!.longestStreak, points: Number(s.points) }).map(
        (code) => ({ id: badgeId(s.user_id, code), data: { userId: s.user_id, code, awardedAt: microsToIso(ctx.nowUs) } }),
      ),
    );
    const owned = await ctx.load(
      'badge',
      candidates.map((b) => b.id),
    );
    await ctx.write(
      'badge',
      candidates.filter((b) => !owned.has(b.id)),
    );
  }

  /** Every (task, user) a transition to done credits: the assignees, or the user who completed it. */
  private completions(ctx: SyncBatchContext): Completion[] {
    const seen = new Map<string, Completion>();
    const out: Completion[] = [];
    for (const t of ctx.transitions) {
      if (!this.completes(t)) continue;
      const data = t.after.data!;
      const assignees = Array.isArray(data.assignees) ? (data.assignees as string[]) : [];
      const completedUs = completedAtUs(data.completedAt);
      const day = utcDay(completedUs === undefined ? ctx.nowUs : ctx.clampUs(completedUs));
      for (const userId of assignees.length > 0 ? assignees : [ctx.userId]) {
        const key = `${t.entityId}\u0000${userId}`;
        const points = Number(data.points ?? 0);
        const earlier = seen.get(key);
        if (earlier) {
          // Completed again in the same batch: the first day counts, the first points > 0 are credited.
          if (earlier.points <= 0) earlier.points = points;
          continue;
        }
        const completion = { task_id: t.entityId, user_id: userId, day: new Date(day * 86_400_000).toISOString().slice(0, 10), points };
        seen.set(key, completion);
        out.push(completion);
      }
    }
    return out;
  }

  private completes(t: StateTransition): boolean {
    return t.entityType === 'task' && !t.after.deleted && isDone(t.after.data) && !isDone(t.before?.data);
  }

  /**
   * One ledger row per task and user, at the first completion with points > 0: the ledger id
   * (not the completion record) is the "at most once", so a task first completed with
   * points 0, then reopened with points and completed again, is credited then.
   */
  private async awardPoints(ctx: SyncBatchContext, completions: Completion[]): Promise<void> {
    const rows = completions
      .filter((c) => c.points > 0)
      .map((c) => ({
        id: `task_completed:${c.task_id}:${c.user_id}`,
        data: { userId: c.user_id, delta: c.points, reason: 'task_completed', taskId: c.task_id },
      }));
    const existing = await ctx.load(
      'points_ledger',
      rows.map((r) => r.id),
    );
    await ctx.write(
      'points_ledger',
      rows.filter((r) => !existing.has(r.id)),
    );
  }
}
