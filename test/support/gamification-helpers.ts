import { DataSource } from 'typeorm';
import type { ServerChangeDto as ServerChange } from '../../apps/api/src/sync/dto/delta-response.dto';
import { change, ChangeInput, createFamily, FamilyFixture } from './sync-fixtures';
import { startTestApp, TestApp } from './test-app';

/** Constants and helpers of the gamification suites (gamification*.e2e-spec.ts, PROTOCOL 2.3 / 2.5). */

export const COMPUTED = ['points_ledger', 'user_streak', 'badge'];
export const DAY_MS = 86_400_000;
export const ISO_US = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const SKEW_MS = 5 * 60_000; // SYNC_MAX_CLOCK_SKEW default

/** ISO time `days` days from now (same time of day). */
export const daysFromNow = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();
/** UTC date (YYYY-MM-DD) `days` days from now. */
export const utcDate = (days = 0, base = Date.now()) => new Date(base + days * DAY_MS).toISOString().slice(0, 10);

export const task = (id: string, data: Record<string, unknown> = {}, extra: Partial<ChangeInput> = {}) =>
  change({ entity_id: id, data: { title: `Task ${id}`, ...data }, ...extra });
export const update = (id: string, version: number, data: Record<string, unknown>, extra: Partial<ChangeInput> = {}) =>
  change({ entity_id: id, action: 'update', version, data, ...extra });

export const computed = (body: { server_changes: ServerChange[] }) => body.server_changes.filter((c) => COMPUTED.includes(c.entity_type));
export const keyOf = (c: { entity_type: string; entity_id: string }) => `${c.entity_type}/${c.entity_id}`;
export const keys = (changes: ServerChange[]) => changes.map(keyOf).sort();

export const ledgerRow = (taskId: string, userId: string, points: number) =>
  expect.objectContaining({
    entity_type: 'points_ledger',
    entity_id: `task_completed:${taskId}:${userId}`,
    action: 'create',
    version: 1,
    data: { userId, delta: points, reason: 'task_completed', taskId },
  });
export const streakRow = (userId: string, currentStreak: number, longestStreak: number, more: Partial<ServerChange> = {}) =>
  expect.objectContaining({ entity_type: 'user_streak', entity_id: userId, data: { currentStreak, longestStreak }, ...more });
export const badgeRow = (userId: string, code: string) =>
  expect.objectContaining({
    entity_type: 'badge',
    entity_id: `${userId}:${code}`,
    action: 'create',
    version: 1,
    data: { userId, code, awardedAt: expect.stringMatching(ISO_US) },
  });

/**
 * A gamification suite: its own app (no rate limit), started before the tests and closed
 * after, and the helpers on it. Call it inside the suite's describe.
 */
export function gamificationSuite() {
  let t: TestApp;
  let db: DataSource;
  let families = 0;
  const sql = <T = Record<string, unknown>>(query: string, params?: unknown[]) => db.query(query, params) as Promise<T[]>;

  /** A fresh family (owner alice, member bob) per test: the computed rows of one test never leak into another. */
  const family = async (): Promise<FamilyFixture> => {
    const f = await createFamily(t, 'alice', `Gamification ${++families}`);
    await f.addMember('bob');
    return f;
  };

  /** Every computed row of the family (with version and position), to prove that nothing changed. */
  const snapshot = async (familyId: string) => ({
    ledger: await sql(`SELECT id, version, data, changed_us FROM points_ledger WHERE family_id = $1 ORDER BY id`, [familyId]),
    streaks: await sql(`SELECT id, version, data, changed_us FROM user_streaks WHERE family_id = $1 ORDER BY id`, [familyId]),
    badges: await sql(`SELECT id, version, data, changed_us FROM badges WHERE family_id = $1 ORDER BY id`, [familyId]),
    completions: await sql(`SELECT task_id, user_id, completed_day::text AS day FROM task_completions WHERE family_id = $1 ORDER BY 1, 2`, [
      familyId,
    ]),
  });
  const ledgerCounts = async (familyId: string, taskId: string) =>
    sql<{ user_id: string; n: number }>(
      `SELECT data->>'userId' AS user_id, count(*)::int AS n FROM points_ledger
       WHERE family_id = $1 AND data->>'taskId' = $2 GROUP BY 1 ORDER BY 1`,
      [familyId, taskId],
    );
  const streakOf = async (familyId: string, userId: string) =>
    (
      await sql<{ version: number; data: Record<string, number> }>(
        `SELECT version, data FROM user_streaks WHERE family_id = $1 AND id = $2`,
        [familyId, userId],
      )
    )[0];
  const completionDays = async (familyId: string, userId: string) =>
    (
      await sql<{ task_id: string; day: string }>(
        `SELECT task_id, completed_day::text AS day FROM task_completions WHERE family_id = $1 AND user_id = $2 ORDER BY task_id`,
        [familyId, userId],
      )
    ).map((r) => [r.task_id, r.day]);

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    db = t.app.get(DataSource);
  });
  afterAll(() => t?.close());
  const app = () => t;

  return { app, sql, family, snapshot, ledgerCounts, streakOf, completionDays };
}
