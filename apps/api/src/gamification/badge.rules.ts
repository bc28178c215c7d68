export interface UserTotals {
  /** Tasks completed at least once (a task counts once per user). */
  completedTasks: number;
  longestStreak: number;
  /** Sum of the user's ledger deltas. */
  points: number;
}

export const BADGE_RULES: readonly { code: string; earned: (t: UserTotals) => boolean }[] = [
  { code: 'first_task', earned: (t) => t.completedTasks >= 1 },
  { code: 'tasks_10', earned: (t) => t.completedTasks >= 10 },
  { code: 'tasks_100', earned: (t) => t.completedTasks >= 100 },
  { code: 'streak_7', earned: (t) => t.longestStreak >= 7 },
  { code: 'streak_30', earned: (t) => t.longestStreak >= 30 },
  { code: 'points_100', earned: (t) => t.points >= 100 },
  { code: 'points_1000', earned: (t) => t.points >= 1000 },
];

/** Every badge code the totals qualify for (awarding once is the caller's job). */
export const earnedBadges = (totals: UserTotals): string[] => BADGE_RULES.filter((b) => b.earned(totals)).map((b) => b.code);

export const badgeId = (userId: string, code: string) => `${userId}:${code}`;
