import {
  badgeRow,
  computed,
  daysFromNow,
  gamificationSuite,
  keys,
  ledgerRow,
  streakRow,
  task,
  update,
  utcDate,
} from '../support/gamification-helpers';
import { delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.3 / 2.5 "Computations": points, streaks and badges the server computes when a
 * task becomes done, seen through POST /sync/delta (same response and other devices) and
 * checked in the database. One of four suites (gamification-*.e2e-spec.ts) from the original
 * gamification.e2e-spec.ts, this one: a task counts once per user (retries, repeated and
 * reopened completions).
 */
describe('server computations (PROTOCOL 2.3): once per user', () => {
  const { app, family, snapshot, ledgerCounts, streakOf, completionDays } = gamificationSuite();

  describe('a task counts once per user', () => {
    /** A family with task t1 (points 50, bob and carol) completed by the phone. */
    const completedTask = async () => {
      const f = await family();
      await delta(app(), f.token(), { device_id: 'phone', changes: [task('t1', { points: 50, assignees: ['bob', 'carol'] })] });
      const body = { device_id: 'phone', changes: [update('t1', 1, { status: 'done', completedAt: new Date().toISOString() })] };
      const done = await delta(app(), f.token(), body);
      expect(computed(done.body)).toHaveLength(6);
      return { f, body, done, before: await snapshot(f.familyId) };
    };

    it('a retried request (same body) awards nothing again', async () => {
      const { f, body, done, before } = await completedTask();
      for (let attempt = 0; attempt < 2; attempt++) {
        const retry = await delta(app(), f.token(), body);
        expect(retry.body).toMatchObject({ success: true, applied: done.body.applied, last_sync_at: done.body.last_sync_at });
        expect(await snapshot(f.familyId)).toEqual(before);
      }
      // The same retry, echoing the watermark of the original response: nothing new exists.
      const retry = await delta(app(), f.token(), { ...body, last_sync_at: done.body.last_sync_at });
      expect(retry.body).toMatchObject({ success: true, server_changes: [], last_sync_at: done.body.last_sync_at });
      // Same with a change_id: the first completion is credited once, the retry replays it.
      const withId = {
        device_id: 'phone',
        changes: [task('t2', { status: 'done', points: 7, assignees: ['bob'] }, { change_id: 'c-t2' })],
      };
      const first = await delta(app(), f.token(), withId);
      expect(keys(computed(first.body))).toContain('points_ledger/task_completed:t2:bob');
      const mid = await snapshot(f.familyId);
      const replay = await delta(app(), f.token(), withId);
      expect(replay.body.applied).toEqual(first.body.applied);
      expect(await snapshot(f.familyId)).toEqual(mid);
      expect(await ledgerCounts(f.familyId, 't2')).toEqual([{ user_id: 'bob', n: 1 }]);
    });

    it('repeating the completion (update to done again) awards nothing again', async () => {
      const { f, done, before } = await completedTask();
      const again = await delta(app(), f.token(), {
        device_id: 'phone',
        last_sync_at: done.body.last_sync_at,
        changes: [update('t1', 2, { status: 'done', completedAt: daysFromNow(0) })],
      });
      expect(again.body).toMatchObject({ success: true, applied: [{ entity_id: 't1', version: 3 }] });
      expect(computed(again.body)).toEqual([]);
      // done again from another device on a stale version
      const stale = await delta(app(), f.token(), {
        device_id: 'tablet',
        last_sync_at: again.body.last_sync_at,
        changes: [update('t1', 1, { status: 'done' })],
      });
      expect(computed(stale.body)).toEqual([]);
      expect(await snapshot(f.familyId)).toEqual(before);
    });

    it('reopen and complete again awards nothing again (separate requests and within one request)', async () => {
      const { f, done, before } = await completedTask();
      let since = done.body.last_sync_at;
      let version = 2;
      for (const status of ['open', 'done', 'in_progress', 'done']) {
        const res = await delta(app(), f.token(), {
          device_id: 'phone',
          last_sync_at: since,
          changes: [update('t1', version, { status, completedAt: status === 'done' ? new Date().toISOString() : null })],
        });
        expect(res.body).toMatchObject({ success: true, applied: [{ entity_id: 't1', version: ++version }] });
        expect(computed(res.body)).toEqual([]);
        since = res.body.last_sync_at;
      }
      const oneRequest = await delta(app(), f.token(), {
        device_id: 'phone',
        last_sync_at: since,
        changes: [
          update('t1', version, { status: 'open' }),
          update('t1', version + 1, { status: 'done' }),
          update('t1', version + 2, { status: 'open' }),
          update('t1', version + 3, { status: 'done' }),
        ],
      });
      expect(oneRequest.body).toMatchObject({ success: true, applied_count: 4 });
      expect(computed(oneRequest.body)).toEqual([]);

      expect(await ledgerCounts(f.familyId, 't1')).toEqual([
        { user_id: 'bob', n: 1 },
        { user_id: 'carol', n: 1 },
      ]);
      expect(await snapshot(f.familyId)).toEqual(before);
    });

    it('a task reopened and completed on a later day is still one completion (first day kept)', async () => {
      const f = await family();
      const first = await delta(app(), f.token(), {
        changes: [task('t1', { status: 'done', completedAt: daysFromNow(-3), assignees: ['bob'] })],
      });
      expect(await streakOf(f.familyId, 'bob')).toMatchObject({ data: { currentStreak: 0, longestStreak: 1 } });
      await delta(app(), f.token(), { changes: [update('t1', 1, { status: 'open', completedAt: null })] });
      const res = await delta(app(), f.token(), {
        last_sync_at: first.body.last_sync_at,
        changes: [update('t1', 2, { status: 'done', completedAt: new Date().toISOString() })],
      });
      expect(computed(res.body)).toEqual([]);
      expect(await completionDays(f.familyId, 'bob')).toEqual([['t1', utcDate(-3)]]);
    });

    it('a new assignee of a reopened task is credited on the next completion, the others are not', async () => {
      const { f, done } = await completedTask();
      await delta(app(), f.token(), {
        device_id: 'phone',
        changes: [update('t1', 2, { status: 'open', assignees: ['bob', 'carol', 'dave'] })],
      });
      const res = await delta(app(), f.token(), {
        device_id: 'phone',
        last_sync_at: done.body.last_sync_at,
        changes: [update('t1', 3, { status: 'done' })],
      });
      expect(keys(computed(res.body))).toEqual(['badge/dave:first_task', 'points_ledger/task_completed:t1:dave', 'user_streak/dave']);
      expect(await ledgerCounts(f.familyId, 't1')).toEqual([
        { user_id: 'bob', n: 1 },
        { user_id: 'carol', n: 1 },
        { user_id: 'dave', n: 1 },
      ]);
    });

    it('first completed with points 0, reopened with points and completed again: the points are credited once', async () => {
      const f = await family();
      const first = await delta(app(), f.token(), { changes: [task('t1', { status: 'done', points: 0, assignees: ['bob'] })] });
      expect(await ledgerCounts(f.familyId, 't1')).toEqual([]);
      await delta(app(), f.token(), { changes: [update('t1', 1, { status: 'open', points: 40 })] });
      const res = await delta(app(), f.token(), { last_sync_at: first.body.last_sync_at, changes: [update('t1', 2, { status: 'done' })] });
      // streak and first_task are unchanged: only the points are new
      expect(keys(computed(res.body))).toEqual(['points_ledger/task_completed:t1:bob']);
      expect(computed(res.body)).toEqual([ledgerRow('t1', 'bob', 40)]);
      await delta(app(), f.token(), { changes: [update('t1', 3, { status: 'open', points: 90 })] });
      const again = await delta(app(), f.token(), { last_sync_at: res.body.last_sync_at, changes: [update('t1', 4, { status: 'done' })] });
      expect(computed(again.body)).toEqual([]);
      expect(await ledgerCounts(f.familyId, 't1')).toEqual([{ user_id: 'bob', n: 1 }]);
      // still one completed task for streaks and badges
      expect((await snapshot(f.familyId)).completions).toHaveLength(1);

      // The same within one request.
      const g = await family();
      const batch = await delta(app(), g.token(), {
        changes: [
          task('t1', { status: 'done', points: 0, assignees: ['bob'] }),
          update('t1', 1, { status: 'open', points: 40 }),
          update('t1', 2, { status: 'done' }),
          update('t1', 3, { status: 'open', points: 90 }),
          update('t1', 4, { status: 'done' }),
        ],
      });
      expect(batch.body).toMatchObject({ success: true, applied_count: 5 });
      expect(computed(batch.body)).toEqual(
        expect.arrayContaining([ledgerRow('t1', 'bob', 40), streakRow('bob', 1, 1), badgeRow('bob', 'first_task')]),
      );
      expect(computed(batch.body)).toHaveLength(3);
    });
  });
});
