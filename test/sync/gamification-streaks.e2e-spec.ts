import {
  badgeRow,
  computed,
  daysFromNow,
  gamificationSuite,
  ISO_US,
  keys,
  SKEW_MS,
  streakRow,
  task,
  utcDate,
} from '../support/gamification-helpers';
import { delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.3 / 2.5 "Computations": points, streaks and badges the server computes when a
 * task becomes done, seen through POST /sync/delta (same response and other devices) and
 * checked in the database. One of four suites (gamification-*.e2e-spec.ts) from the original
 * gamification.e2e-spec.ts, this one: streaks (runs of completion days, completedAt days, the
 * version of the computed rows).
 */
describe('server computations (PROTOCOL 2.3): streaks', () => {
  const { app, sql, family, streakOf, completionDays } = gamificationSuite();

  describe('streaks', () => {
    it('a 7-day run of completions yields streak_7 with currentStreak 7 and longestStreak 7', async () => {
      const f = await family();
      const now = new Date().toISOString();
      const changes = [6, 5, 4, 3, 2, 1, 0].map((ago) =>
        task(
          `day-${ago}`,
          { status: 'done', points: 10, assignees: ['bob'], completedAt: ago === 0 ? now : daysFromNow(-ago) },
          { client_timestamp: now },
        ),
      );
      const res = await delta(app(), f.token(), { changes });
      expect(res.body).toMatchObject({ success: true, applied_count: 7 });
      expect(computed(res.body)).toEqual(
        expect.arrayContaining([streakRow('bob', 7, 7, { version: 1 }), badgeRow('bob', 'first_task'), badgeRow('bob', 'streak_7')]),
      );
      expect(keys(computed(res.body)).filter((k) => k.startsWith('badge/'))).toEqual(['badge/bob:first_task', 'badge/bob:streak_7']);
      expect(computed(res.body).filter((c) => c.entity_type === 'points_ledger')).toHaveLength(7);
      expect((await completionDays(f.familyId, 'bob')).map(([, day]) => day).sort()).toEqual(
        [6, 5, 4, 3, 2, 1, 0].map((ago) => utcDate(-ago)),
      );
    });

    it('the same 7-day run sent one day per request, oldest first and then in any order', async () => {
      const f = await family();
      const versions: number[] = [];
      for (const ago of [6, 5, 4, 3, 2, 1, 0]) {
        const res = await delta(app(), f.token(), {
          changes: [task(`d${ago}`, { status: 'done', assignees: ['bob'], completedAt: daysFromNow(-ago) })],
        });
        const streak = computed(res.body).find((c) => c.entity_type === 'user_streak')!;
        versions.push(streak.version);
        // a run ending 6..1 days ago is not current until it reaches yesterday
        const current = ago <= 1 ? 7 - ago : 0;
        expect(streak.data).toEqual({ currentStreak: current, longestStreak: 7 - ago });
      }
      expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7]);
      const badges = await sql<{ id: string }>(`SELECT id FROM badges WHERE family_id = $1 ORDER BY id`, [f.familyId]);
      expect(badges.map((b) => b.id)).toEqual(['bob:first_task', 'bob:streak_7']);

      // Unsorted: today first, then the older days; the streak ends the same. It is written
      // (new version) only when it changes: {1,1} at day 0 (days 3 and 6 change nothing),
      // {2,2} at day 1 (day 5 changes nothing), {4,4} at day 2, {7,7} at day 4.
      const g = await family();
      for (const ago of [0, 3, 6, 1, 5, 2, 4]) {
        await delta(app(), g.token(), {
          changes: [task(`d${ago}`, { status: 'done', assignees: ['bob'], completedAt: daysFromNow(-ago) })],
        });
      }
      expect(await streakOf(g.familyId, 'bob')).toEqual({ version: 4, data: { currentStreak: 7, longestStreak: 7 } });
    });

    it('longest vs current: an old run of 3, a gap, then today', async () => {
      const f = await family();
      const old = await delta(app(), f.token(), {
        changes: [10, 9, 8].map((ago) => task(`d${ago}`, { status: 'done', assignees: ['bob'], completedAt: daysFromNow(-ago) })),
      });
      expect(computed(old.body)).toEqual(expect.arrayContaining([streakRow('bob', 0, 3, { version: 1 })]));
      const today = await delta(app(), f.token(), {
        last_sync_at: old.body.last_sync_at,
        changes: [task('d0', { status: 'done', assignees: ['bob'] })],
      });
      expect(computed(today.body)).toEqual([streakRow('bob', 1, 3, { action: 'update', version: 2 })]);
    });

    it('several completions on the same day count as one day', async () => {
      const f = await family();
      const res = await delta(app(), f.token(), { changes: ['a', 'b', 'c'].map((id) => task(id, { status: 'done', assignees: ['bob'] })) });
      expect(computed(res.body)).toEqual(expect.arrayContaining([streakRow('bob', 1, 1, { version: 1 })]));
      expect(computed(res.body).filter((c) => c.entity_type === 'user_streak')).toHaveLength(1);
    });

    it('a completedAt days in the past counts on that UTC day (not current when older than yesterday)', async () => {
      const f = await family();
      const threeDaysAgo = utcDate(-3);
      const res = await delta(app(), f.token(), {
        changes: [
          task('a', { status: 'done', assignees: ['bob'], completedAt: `${threeDaysAgo}T23:59:59.999999Z` }),
          // 01:30 at +02:00 is 23:30 UTC of the day before
          task('b', { status: 'done', assignees: ['carol'], completedAt: `${utcDate(-2)}T01:30:00+02:00` }),
        ],
      });
      expect(computed(res.body)).toEqual(expect.arrayContaining([streakRow('bob', 0, 1), streakRow('carol', 0, 1)]));
      expect(await completionDays(f.familyId, 'bob')).toEqual([['a', threeDaysAgo]]);
      expect(await completionDays(f.familyId, 'carol')).toEqual([['b', threeDaysAgo]]);
    });

    it('a date-only completedAt counts on that date', async () => {
      const f = await family();
      const res = await delta(app(), f.token(), { changes: [task('a', { status: 'done', assignees: ['bob'], completedAt: utcDate(-4) })] });
      expect(res.body.success).toBe(true);
      expect(await completionDays(f.familyId, 'bob')).toEqual([['a', utcDate(-4)]]);
      expect(await streakOf(f.familyId, 'bob')).toMatchObject({ data: { currentStreak: 0, longestStreak: 1 } });
    });

    it('a completedAt far in the future is clamped to server-now + the allowed skew (day = today)', async () => {
      const f = await family();
      const before = Date.now();
      const res = await delta(app(), f.token(), {
        changes: [
          task('yesterday', { status: 'done', assignees: ['bob'], completedAt: daysFromNow(-1) }),
          task('future', { status: 'done', assignees: ['bob'], completedAt: '2999-12-31T12:00:00Z' }),
        ],
      });
      const after = Date.now();
      expect(res.body.success).toBe(true);
      // The clamped day is today, unless the request ran in the last 5 minutes before UTC midnight.
      const clampDays = new Set([utcDate(0, before + SKEW_MS), utcDate(0, after + SKEW_MS)]);
      const [[, day]] = (await completionDays(f.familyId, 'bob')).filter(([id]) => id === 'future');
      expect(clampDays).toContain(day);
      if (day === utcDate(0, before) && day === utcDate(0, after)) {
        expect(day).toBe(utcDate());
        expect(computed(res.body)).toEqual(expect.arrayContaining([streakRow('bob', 2, 2)]));
      }
    });

    it("the computed rows' version increments when a streak changes, and only then", async () => {
      const f = await family();
      const r1 = await delta(app(), f.token(), {
        changes: [task('a', { status: 'done', points: 30, assignees: ['bob'], completedAt: daysFromNow(-1) })],
      });
      expect(computed(r1.body)).toEqual(expect.arrayContaining([streakRow('bob', 1, 1, { action: 'create', version: 1 })]));

      const r2 = await delta(app(), f.token(), {
        last_sync_at: r1.body.last_sync_at,
        changes: [task('b', { status: 'done', points: 30, assignees: ['bob'] })],
      });
      expect(keys(computed(r2.body))).toEqual(['points_ledger/task_completed:b:bob', 'user_streak/bob']);
      const s2 = computed(r2.body).find((c) => c.entity_type === 'user_streak')!;
      expect(s2).toMatchObject({ action: 'update', version: 2, data: { currentStreak: 2, longestStreak: 2 } });
      expect(s2.client_timestamp).toMatch(ISO_US);

      // same day again: the streak does not change, so it is not written (no new version, not pulled)
      const r3 = await delta(app(), f.token(), {
        last_sync_at: r2.body.last_sync_at,
        changes: [task('c', { status: 'done', points: 30, assignees: ['bob'] })],
      });
      expect(keys(computed(r3.body))).toEqual(['points_ledger/task_completed:c:bob']);
      expect(await streakOf(f.familyId, 'bob')).toEqual({ version: 2, data: { currentStreak: 2, longestStreak: 2 } });

      // 90 points: no new badge yet; the badge rows keep version 1 forever
      const badges = await sql<{ id: string; version: number }>(`SELECT id, version FROM badges WHERE family_id = $1 ORDER BY id`, [
        f.familyId,
      ]);
      expect(badges).toEqual([{ id: 'bob:first_task', version: 1 }]);
      const r4 = await delta(app(), f.token(), {
        last_sync_at: r3.body.last_sync_at,
        changes: [task('d', { status: 'done', points: 10, assignees: ['bob'] })],
      });
      expect(keys(computed(r4.body))).toEqual(['badge/bob:points_100', 'points_ledger/task_completed:d:bob']);
      const badges2 = await sql<{ id: string; version: number }>(`SELECT id, version FROM badges WHERE family_id = $1 ORDER BY id`, [
        f.familyId,
      ]);
      expect(badges2).toEqual([
        { id: 'bob:first_task', version: 1 },
        { id: 'bob:points_100', version: 1 },
      ]);
    });
  });
});
