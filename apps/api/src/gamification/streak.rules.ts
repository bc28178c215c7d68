const DAY_US = 86_400_000_000;

/** The UTC day (days since 1970-01-01) of a time in microseconds. */
export const utcDay = (us: number): number => Math.floor(us / DAY_US);

export interface Streak {
  currentStreak: number;
  longestStreak: number;
}

/**
 * Streaks over the UTC days with at least one completion: `longestStreak` is the longest run
 * of consecutive days ever; `currentStreak` the run that ends today or yesterday (0 when the
 * latest completion is older). A completion dated up to the clock-skew clamp ahead (just
 * after midnight UTC) keeps the run current.
 */
export function computeStreak(days: readonly number[], today: number): Streak {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  let longest = 0;
  let run = 0;
  for (let i = 0; i < sorted.length; i++) {
    const previous = sorted[i - 1];
    run = previous !== undefined && sorted[i] === previous + 1 ? run + 1 : 1;
    longest = Math.max(longest, run);
  }
  const last = sorted[sorted.length - 1];
  const current = last !== undefined && last >= today - 1 ? run : 0;
  return { currentStreak: current, longestStreak: longest };
}
