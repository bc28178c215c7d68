import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from '../support/test-app';
import { change, ChangeInput, createFamily, delta, FamilyFixture } from '../support/sync-fixtures';
import type { ServerChangeDto as ServerChange } from '../../apps/api/src/sync/dto/delta-response.dto';

/**
 * PROTOCOL 2.3 / 2.5 "Computations": points, streaks and badges the server computes when a
 * task becomes done, seen through POST /sync/delta (same response and other devices) and
 * checked in the database.
 */

const COMPUTED = ['points_ledger', 'user_streak', 'badge'];
const DAY_MS = 86_400_000;
const ISO_US = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const SKEW_MS = 5 * 60_000; // SYNC_MAX_CLOCK_SKEW default

/** ISO time `days` days from now (same time of day). */
const daysFromNow = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();
/** UTC date (YYYY-MM-DD) `days` days from now. */
const utcDate = (days = 0, base = Date.now()) => new Date(base + days * DAY_MS).toISOString().slice(0, 10);

const task = (id: string, data: Record<string, unknown> = {}, extra: Partial<ChangeInput> = {}) =>
  change({ entity_id: id, data: { title: `Task ${id}`, ...data }, ...extra });
const update = (id: string, version: number, data: Record<string, unknown>, extra: Partial<ChangeInput> = {}) =>
  change({ entity_id: id, action: 'update', version, data, ...extra });

const computed = (body: { server_changes: ServerChange[] }) => body.server_changes.filter((c) => COMPUTED.includes(c.entity_type));
const keyOf = (c: { entity_type: string; entity_id: string }) => `${c.entity_type}/${c.entity_id}`;
const keys = (changes: ServerChange[]) => changes.map(keyOf).sort();

const ledgerRow = (taskId: string, userId: string, points: number) =>
  expect.objectContaining({
    entity_type: 'points_ledger',
    entity_id: `task_completed:${taskId}:${userId}`,
    action: 'create',
    version: 1,
    data: { userId, delta: points, reason: 'task_completed', taskId },
  });
const streakRow = (userId: string, currentStreak: number, longestStreak: number, more: Partial<ServerChange> = {}) =>
  expect.objectContaining({ entity_type: 'user_streak', entity_id: userId, data: { currentStreak, longestStreak }, ...more });
const badgeRow = (userId: string, code: string) =>
  expect.objectContaining({
    entity_type: 'badge',
    entity_id: `${userId}:${code}`,
    action: 'create',
    version: 1,
    data: { userId, code, awardedAt: expect.stringMatching(ISO_US) },
  });

describe('server computations (PROTOCOL 2.3)', () => {
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

  describe('a task becomes done', () => {
    it('points 50 and two assignees: two ledger rows, two streaks, two first_task badges, in the same response and for another device', async () => {
      const f = await family();
      const created = await delta(t, f.token(), { device_id: 'phone', changes: [task('t1', { points: 50, assignees: ['bob', 'carol'] })] });
      expect(created.body).toMatchObject({ success: true, applied: [{ entity_id: 't1', version: 1 }] });
      expect(computed(created.body)).toEqual([]);
      const tablet = await delta(t, f.token(), { device_id: 'tablet' });
      expect(tablet.body.server_changes).toHaveLength(1);

      const done = await delta(t, f.token(), {
        device_id: 'phone',
        last_sync_at: created.body.last_sync_at,
        changes: [update('t1', 1, { status: 'done', completedAt: new Date().toISOString() })],
      });
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ success: true, applied_count: 1, applied: [{ entity_type: 'task', entity_id: 't1', version: 2 }] });
      const expected = [
        ledgerRow('t1', 'bob', 50),
        ledgerRow('t1', 'carol', 50),
        streakRow('bob', 1, 1, { action: 'create', version: 1 }),
        streakRow('carol', 1, 1, { action: 'create', version: 1 }),
        badgeRow('bob', 'first_task'),
        badgeRow('carol', 'first_task'),
      ];
      // The task itself was fully applied by this request: only the computed rows come back.
      expect(done.body.server_changes).toHaveLength(6);
      expect(done.body.server_changes).toEqual(expect.arrayContaining(expected));
      const positions = done.body.server_changes.map((c: ServerChange) => c.server_timestamp);
      expect([...positions].sort()).toEqual(positions);
      expect(new Set(positions).size).toBe(6);
      // Nobody else is credited: not the sender (alice), nothing beyond first_task.
      expect(keys(done.body.server_changes).filter((k) => k.includes('alice'))).toEqual([]);

      // Another device pulls the task and every computed row, task first (commit order).
      const pulled = await delta(t, f.token(), { device_id: 'tablet', last_sync_at: tablet.body.last_sync_at });
      expect(pulled.body.server_changes).toHaveLength(7);
      expect(pulled.body.server_changes[0]).toMatchObject({
        entity_type: 'task',
        entity_id: 't1',
        action: 'update',
        version: 2,
        data: expect.objectContaining({ status: 'done' }),
      });
      expect(pulled.body.server_changes.slice(1)).toEqual(expect.arrayContaining(expected));
      expect(pulled.body.last_sync_at).toBe(done.body.last_sync_at);
      // A member's first sync sees them too.
      const fresh = await delta(t, f.token('bob'), { device_id: 'bob-phone' });
      expect(computed(fresh.body)).toEqual(expect.arrayContaining(expected));
      expect(computed(fresh.body)).toHaveLength(6);
      // ... and the requesting device, echoing its watermark, gets nothing twice.
      const again = await delta(t, f.token(), { device_id: 'phone', last_sync_at: done.body.last_sync_at });
      expect(again.body.server_changes).toEqual([]);

      const db1 = await snapshot(f.familyId);
      expect(db1.ledger.map((r) => r.id)).toEqual(['task_completed:t1:bob', 'task_completed:t1:carol']);
      expect(db1.streaks.map((r) => [r.id, r.version, r.data])).toEqual([
        ['bob', 1, { currentStreak: 1, longestStreak: 1 }],
        ['carol', 1, { currentStreak: 1, longestStreak: 1 }],
      ]);
      expect(db1.badges.map((r) => r.id)).toEqual(['bob:first_task', 'carol:first_task']);
      expect(db1.completions).toEqual([
        { task_id: 't1', user_id: 'bob', day: utcDate() },
        { task_id: 't1', user_id: 'carol', day: utcDate() },
      ]);
    });

    it('a create with status done completes the task', async () => {
      const f = await family();
      const res = await delta(t, f.token(), { changes: [task('t1', { status: 'done', points: 30, assignees: ['bob'] })] });
      expect(res.body).toMatchObject({ success: true, applied: [{ entity_id: 't1', version: 1 }] });
      expect(computed(res.body)).toHaveLength(3);
      expect(computed(res.body)).toEqual(
        expect.arrayContaining([ledgerRow('t1', 'bob', 30), streakRow('bob', 1, 1), badgeRow('bob', 'first_task')]),
      );
      // first sync: the task was fully applied by this request, so only computed rows come back
      expect(res.body.server_changes).toHaveLength(3);
    });

    it('a create of an existing id with status done (handled as an update) completes the task', async () => {
      const f = await family();
      const first = await delta(t, f.token(), { changes: [task('t1', { points: 5, assignees: ['bob'] })] });
      const res = await delta(t, f.token(), {
        last_sync_at: first.body.last_sync_at,
        changes: [task('t1', { status: 'done', points: 5, assignees: ['bob'] }, { version: 1 })],
      });
      expect(res.body).toMatchObject({ success: true, applied: [{ entity_id: 't1', version: 2 }] });
      expect(computed(res.body)).toEqual(
        expect.arrayContaining([ledgerRow('t1', 'bob', 5), streakRow('bob', 1, 1), badgeRow('bob', 'first_task')]),
      );
    });

    it('done wins on a stale version (applied, and merged with a lost field): the completion is credited', async () => {
      const f = await family();
      const old = new Date(Date.now() - 60_000).toISOString();
      const created = await delta(t, f.token(), {
        device_id: 'phone',
        changes: [task('a', { points: 10, assignees: ['bob'] }), task('b', { points: 20, assignees: ['carol'] })],
      });
      // The tablet edits both tasks (version 2): the phone's versions are stale.
      await delta(t, f.token(), {
        device_id: 'tablet',
        changes: [update('a', 1, { title: 'Tablet A' }), update('b', 1, { title: 'Tablet B' })],
      });

      const res = await delta(t, f.token(), {
        device_id: 'phone',
        last_sync_at: created.body.last_sync_at,
        changes: [
          // done wins: status and completedAt are applied on a stale version
          update('a', 1, { status: 'done', completedAt: old }, { client_timestamp: old }),
          // done wins, the older title loses: merged
          update('b', 1, { status: 'done', title: 'Phone B' }, { client_timestamp: old }),
        ],
      });
      expect(res.body.applied).toEqual([
        expect.objectContaining({ entity_id: 'a', version: 3, data: expect.objectContaining({ status: 'done', title: 'Tablet A' }) }),
        expect.objectContaining({ entity_id: 'b', version: 3, data: expect.objectContaining({ status: 'done', title: 'Tablet B' }) }),
      ]);
      expect(res.body.conflicts).toEqual([expect.objectContaining({ entity_id: 'b', resolution: 'merged', rejected_fields: ['title'] })]);
      expect(computed(res.body)).toHaveLength(6);
      expect(computed(res.body)).toEqual(
        expect.arrayContaining([
          ledgerRow('a', 'bob', 10),
          ledgerRow('b', 'carol', 20),
          streakRow('bob', 1, 1),
          streakRow('carol', 1, 1),
          badgeRow('bob', 'first_task'),
          badgeRow('carol', 'first_task'),
        ]),
      );
    });

    it('points 0: no ledger row, but the streak and first_task', async () => {
      const f = await family();
      const res = await delta(t, f.token(), {
        changes: [task('t1', { status: 'done', points: 0, assignees: ['bob'] }), task('t2', { status: 'done', assignees: ['carol'] })],
      });
      expect(res.body.success).toBe(true);
      expect(keys(computed(res.body))).toEqual(['badge/bob:first_task', 'badge/carol:first_task', 'user_streak/bob', 'user_streak/carol']);
      expect(computed(res.body)).toEqual(
        expect.arrayContaining([streakRow('bob', 1, 1), badgeRow('bob', 'first_task'), streakRow('carol', 1, 1)]),
      );
      const db1 = await snapshot(f.familyId);
      expect(db1.ledger).toEqual([]);
      // completedAt absent: the completion day is the server's date
      expect(db1.completions).toEqual([
        { task_id: 't1', user_id: 'bob', day: utcDate() },
        { task_id: 't2', user_id: 'carol', day: utcDate() },
      ]);
    });

    it('no assignees: the user who sent the change is credited', async () => {
      const f = await family();
      const res = await delta(t, f.token('bob'), {
        changes: [task('t1', { status: 'done', points: 20 }), task('t2', { status: 'done', points: 5, assignees: [] })],
      });
      expect(res.body.success).toBe(true);
      expect(keys(computed(res.body))).toEqual([
        'badge/bob:first_task',
        'points_ledger/task_completed:t1:bob',
        'points_ledger/task_completed:t2:bob',
        'user_streak/bob',
      ]);
      expect(computed(res.body)).toEqual(
        expect.arrayContaining([ledgerRow('t1', 'bob', 20), ledgerRow('t2', 'bob', 5), streakRow('bob', 1, 1)]),
      );
      expect((await snapshot(f.familyId)).completions.map((c) => c.user_id)).toEqual(['bob', 'bob']);
    });

    it('an open task, an in_progress task and a deleted task credit nothing', async () => {
      const f = await family();
      const res = await delta(t, f.token(), {
        changes: [
          task('t1', { points: 50, assignees: ['bob'] }),
          task('t2', { status: 'in_progress', points: 50, assignees: ['bob'] }),
          task('t3', { points: 50, assignees: ['bob'] }),
          change({ entity_id: 't3', action: 'delete', version: 1 }),
        ],
      });
      expect(res.body.success).toBe(true);
      expect(computed(res.body)).toEqual([]);
      const db1 = await snapshot(f.familyId);
      expect([...db1.ledger, ...db1.streaks, ...db1.badges, ...db1.completions]).toEqual([]);
    });

    it('an atomic batch that fails stores no computed row', async () => {
      const f = await family();
      const res = await delta(t, f.token(), {
        atomic: true,
        changes: [task('t1', { status: 'done', points: 50, assignees: ['bob'] }), task('bad', { title: '' })],
      });
      expect(res.body).toMatchObject({ success: false, applied_count: 0 });
      expect(computed(res.body)).toEqual([]);
      const db1 = await snapshot(f.familyId);
      expect([...db1.ledger, ...db1.streaks, ...db1.badges, ...db1.completions]).toEqual([]);
    });
  });

  describe('a task counts once per user', () => {
    /** A family with task t1 (points 50, bob and carol) completed by the phone. */
    const completedTask = async () => {
      const f = await family();
      await delta(t, f.token(), { device_id: 'phone', changes: [task('t1', { points: 50, assignees: ['bob', 'carol'] })] });
      const body = { device_id: 'phone', changes: [update('t1', 1, { status: 'done', completedAt: new Date().toISOString() })] };
      const done = await delta(t, f.token(), body);
      expect(computed(done.body)).toHaveLength(6);
      return { f, body, done, before: await snapshot(f.familyId) };
    };

    it('a retried request (same body) awards nothing again', async () => {
      const { f, body, done, before } = await completedTask();
      for (let attempt = 0; attempt < 2; attempt++) {
        const retry = await delta(t, f.token(), body);
        expect(retry.body).toMatchObject({ success: true, applied: done.body.applied, last_sync_at: done.body.last_sync_at });
        expect(await snapshot(f.familyId)).toEqual(before);
      }
      // The same retry, echoing the watermark of the original response: nothing new exists.
      const retry = await delta(t, f.token(), { ...body, last_sync_at: done.body.last_sync_at });
      expect(retry.body).toMatchObject({ success: true, server_changes: [], last_sync_at: done.body.last_sync_at });
      // Same with a change_id: the first completion is credited once, the retry replays it.
      const withId = {
        device_id: 'phone',
        changes: [task('t2', { status: 'done', points: 7, assignees: ['bob'] }, { change_id: 'c-t2' })],
      };
      const first = await delta(t, f.token(), withId);
      expect(keys(computed(first.body))).toContain('points_ledger/task_completed:t2:bob');
      const mid = await snapshot(f.familyId);
      const replay = await delta(t, f.token(), withId);
      expect(replay.body.applied).toEqual(first.body.applied);
      expect(await snapshot(f.familyId)).toEqual(mid);
      expect(await ledgerCounts(f.familyId, 't2')).toEqual([{ user_id: 'bob', n: 1 }]);
    });

    it('repeating the completion (update to done again) awards nothing again', async () => {
      const { f, done, before } = await completedTask();
      const again = await delta(t, f.token(), {
        device_id: 'phone',
        last_sync_at: done.body.last_sync_at,
        changes: [update('t1', 2, { status: 'done', completedAt: daysFromNow(0) })],
      });
      expect(again.body).toMatchObject({ success: true, applied: [{ entity_id: 't1', version: 3 }] });
      expect(computed(again.body)).toEqual([]);
      // done again from another device on a stale version
      const stale = await delta(t, f.token(), {
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
        const res = await delta(t, f.token(), {
          device_id: 'phone',
          last_sync_at: since,
          changes: [update('t1', version, { status, completedAt: status === 'done' ? new Date().toISOString() : null })],
        });
        expect(res.body).toMatchObject({ success: true, applied: [{ entity_id: 't1', version: ++version }] });
        expect(computed(res.body)).toEqual([]);
        since = res.body.last_sync_at;
      }
      const oneRequest = await delta(t, f.token(), {
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
      const first = await delta(t, f.token(), {
        changes: [task('t1', { status: 'done', completedAt: daysFromNow(-3), assignees: ['bob'] })],
      });
      expect(await streakOf(f.familyId, 'bob')).toMatchObject({ data: { currentStreak: 0, longestStreak: 1 } });
      await delta(t, f.token(), { changes: [update('t1', 1, { status: 'open', completedAt: null })] });
      const res = await delta(t, f.token(), {
        last_sync_at: first.body.last_sync_at,
        changes: [update('t1', 2, { status: 'done', completedAt: new Date().toISOString() })],
      });
      expect(computed(res.body)).toEqual([]);
      expect(await completionDays(f.familyId, 'bob')).toEqual([['t1', utcDate(-3)]]);
    });

    it('a new assignee of a reopened task is credited on the next completion, the others are not', async () => {
      const { f, done } = await completedTask();
      await delta(t, f.token(), {
        device_id: 'phone',
        changes: [update('t1', 2, { status: 'open', assignees: ['bob', 'carol', 'dave'] })],
      });
      const res = await delta(t, f.token(), {
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
      const first = await delta(t, f.token(), { changes: [task('t1', { status: 'done', points: 0, assignees: ['bob'] })] });
      expect(await ledgerCounts(f.familyId, 't1')).toEqual([]);
      await delta(t, f.token(), { changes: [update('t1', 1, { status: 'open', points: 40 })] });
      const res = await delta(t, f.token(), { last_sync_at: first.body.last_sync_at, changes: [update('t1', 2, { status: 'done' })] });
      // streak and first_task are unchanged: only the points are new
      expect(keys(computed(res.body))).toEqual(['points_ledger/task_completed:t1:bob']);
      expect(computed(res.body)).toEqual([ledgerRow('t1', 'bob', 40)]);
      await delta(t, f.token(), { changes: [update('t1', 3, { status: 'open', points: 90 })] });
      const again = await delta(t, f.token(), { last_sync_at: res.body.last_sync_at, changes: [update('t1', 4, { status: 'done' })] });
      expect(computed(again.body)).toEqual([]);
      expect(await ledgerCounts(f.familyId, 't1')).toEqual([{ user_id: 'bob', n: 1 }]);
      // still one completed task for streaks and badges
      expect((await snapshot(f.familyId)).completions).toHaveLength(1);

      // The same within one request.
      const g = await family();
      const batch = await delta(t, g.token(), {
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
      const res = await delta(t, f.token(), { changes });
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
        const res = await delta(t, f.token(), {
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
        await delta(t, g.token(), { changes: [task(`d${ago}`, { status: 'done', assignees: ['bob'], completedAt: daysFromNow(-ago) })] });
      }
      expect(await streakOf(g.familyId, 'bob')).toEqual({ version: 4, data: { currentStreak: 7, longestStreak: 7 } });
    });

    it('longest vs current: an old run of 3, a gap, then today', async () => {
      const f = await family();
      const old = await delta(t, f.token(), {
        changes: [10, 9, 8].map((ago) => task(`d${ago}`, { status: 'done', assignees: ['bob'], completedAt: daysFromNow(-ago) })),
      });
      expect(computed(old.body)).toEqual(expect.arrayContaining([streakRow('bob', 0, 3, { version: 1 })]));
      const today = await delta(t, f.token(), {
        last_sync_at: old.body.last_sync_at,
        changes: [task('d0', { status: 'done', assignees: ['bob'] })],
      });
      expect(computed(today.body)).toEqual([streakRow('bob', 1, 3, { action: 'update', version: 2 })]);
    });

    it('several completions on the same day count as one day', async () => {
      const f = await family();
      const res = await delta(t, f.token(), { changes: ['a', 'b', 'c'].map((id) => task(id, { status: 'done', assignees: ['bob'] })) });
      expect(computed(res.body)).toEqual(expect.arrayContaining([streakRow('bob', 1, 1, { version: 1 })]));
      expect(computed(res.body).filter((c) => c.entity_type === 'user_streak')).toHaveLength(1);
    });

    it('a completedAt days in the past counts on that UTC day (not current when older than yesterday)', async () => {
      const f = await family();
      const threeDaysAgo = utcDate(-3);
      const res = await delta(t, f.token(), {
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
      const res = await delta(t, f.token(), { changes: [task('a', { status: 'done', assignees: ['bob'], completedAt: utcDate(-4) })] });
      expect(res.body.success).toBe(true);
      expect(await completionDays(f.familyId, 'bob')).toEqual([['a', utcDate(-4)]]);
      expect(await streakOf(f.familyId, 'bob')).toMatchObject({ data: { currentStreak: 0, longestStreak: 1 } });
    });

    it('a completedAt far in the future is clamped to server-now + the allowed skew (day = today)', async () => {
      const f = await family();
      const before = Date.now();
      const res = await delta(t, f.token(), {
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
      const r1 = await delta(t, f.token(), {
        changes: [task('a', { status: 'done', points: 30, assignees: ['bob'], completedAt: daysFromNow(-1) })],
      });
      expect(computed(r1.body)).toEqual(expect.arrayContaining([streakRow('bob', 1, 1, { action: 'create', version: 1 })]));

      const r2 = await delta(t, f.token(), {
        last_sync_at: r1.body.last_sync_at,
        changes: [task('b', { status: 'done', points: 30, assignees: ['bob'] })],
      });
      expect(keys(computed(r2.body))).toEqual(['points_ledger/task_completed:b:bob', 'user_streak/bob']);
      const s2 = computed(r2.body).find((c) => c.entity_type === 'user_streak')!;
      expect(s2).toMatchObject({ action: 'update', version: 2, data: { currentStreak: 2, longestStreak: 2 } });
      expect(s2.client_timestamp).toMatch(ISO_US);

      // same day again: the streak does not change, so it is not written (no new version, not pulled)
      const r3 = await delta(t, f.token(), {
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
      const r4 = await delta(t, f.token(), {
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

  describe('badges', () => {
    it('points_100 from client-created ledger rows plus a completion', async () => {
      const f = await family();
      const bonus = await delta(t, f.token(), {
        changes: [
          change({ entity_type: 'points_ledger', entity_id: 'bonus-1', data: { userId: 'bob', delta: 35, reason: 'bonus' } }),
          change({ entity_type: 'points_ledger', entity_id: 'bonus-2', data: { userId: 'bob', delta: 25, reason: 'bonus' } }),
        ],
      });
      expect(bonus.body).toMatchObject({ success: true, applied_count: 2 });
      expect(computed(bonus.body)).toEqual([]); // 60 points: no badge; the ledger rows were fully applied by this request

      const done = await delta(t, f.token(), {
        last_sync_at: bonus.body.last_sync_at,
        changes: [task('t1', { status: 'done', points: 40, assignees: ['bob'] })],
      });
      expect(keys(computed(done.body))).toEqual([
        'badge/bob:first_task',
        'badge/bob:points_100',
        'points_ledger/task_completed:t1:bob',
        'user_streak/bob',
      ]);
      expect(computed(done.body)).toEqual(expect.arrayContaining([badgeRow('bob', 'points_100'), ledgerRow('t1', 'bob', 40)]));
    });

    it('points badges from client-created ledger rows alone, at 99/100 and 999/1000, awarded once', async () => {
      const f = await family();
      const ledger = (id: string, userId: string, points: number) =>
        change({ entity_type: 'points_ledger', entity_id: id, data: { userId, delta: points, reason: 'manual', taskId: null } });
      const r1 = await delta(t, f.token(), { changes: [ledger('l1', 'carol', 99)] });
      expect(computed(r1.body)).toEqual([]);
      const r2 = await delta(t, f.token(), { last_sync_at: r1.body.last_sync_at, changes: [ledger('l2', 'carol', 1)] });
      expect(computed(r2.body)).toEqual([badgeRow('carol', 'points_100')]);
      const r3 = await delta(t, f.token(), { last_sync_at: r2.body.last_sync_at, changes: [ledger('l3', 'carol', 899)] });
      expect(computed(r3.body)).toEqual([]);
      const r4 = await delta(t, f.token(), { last_sync_at: r3.body.last_sync_at, changes: [ledger('l4', 'carol', 1)] });
      expect(computed(r4.body)).toEqual([badgeRow('carol', 'points_1000')]);
      // A negative entry does not take a badge back; new points award nothing twice.
      const r5 = await delta(t, f.token(), {
        last_sync_at: r4.body.last_sync_at,
        changes: [ledger('l5', 'carol', -950), ledger('l6', 'carol', 2000)],
      });
      expect(computed(r5.body)).toEqual([]);
      // A replayed ledger create (same data) changes nothing.
      const r6 = await delta(t, f.token(), { device_id: 'other', last_sync_at: r5.body.last_sync_at, changes: [ledger('l4', 'carol', 1)] });
      expect(r6.body).toMatchObject({ success: true, server_changes: [] });
      const badges = await sql<{ id: string; version: number }>(`SELECT id, version FROM badges WHERE family_id = $1 ORDER BY id`, [
        f.familyId,
      ]);
      expect(badges).toEqual([
        { id: 'carol:points_100', version: 1 },
        { id: 'carol:points_1000', version: 1 },
      ]);
      // No streak for a user who completed nothing.
      expect(await streakOf(f.familyId, 'carol')).toBeUndefined();
    });

    it('tasks_10 at the tenth completed task (9 is not enough)', async () => {
      const f = await family();
      const nine = await delta(t, f.token(), {
        changes: Array.from({ length: 9 }, (_, i) => task(`t${i}`, { status: 'done', assignees: ['bob'] })),
      });
      expect(keys(computed(nine.body))).toEqual(['badge/bob:first_task', 'user_streak/bob']);
      const tenth = await delta(t, f.token(), {
        last_sync_at: nine.body.last_sync_at,
        changes: [task('t9', { status: 'done', assignees: ['bob'] })],
      });
      expect(computed(tenth.body)).toEqual([badgeRow('bob', 'tasks_10')]);
    });
  });

  describe('client writes to the computed types', () => {
    it('answer server_wins and change nothing: update of a user_streak, create of a badge, delete of a ledger row', async () => {
      const f = await family();
      const done = await delta(t, f.token(), { changes: [task('t1', { status: 'done', points: 50, assignees: ['bob'] })] });
      expect(computed(done.body)).toHaveLength(3);
      const before = await snapshot(f.familyId);
      const now = new Date().toISOString();

      const res = await delta(t, f.token('bob'), {
        device_id: 'bob-phone',
        last_sync_at: done.body.last_sync_at,
        changes: [
          change({ entity_type: 'user_streak', entity_id: 'bob', action: 'update', data: { currentStreak: 99, longestStreak: 99 } }),
          change({ entity_type: 'badge', entity_id: 'bob:tasks_100', data: { userId: 'bob', code: 'tasks_100', awardedAt: now } }),
          change({ entity_type: 'points_ledger', entity_id: 'task_completed:t1:bob', action: 'delete' }),
          change({ entity_type: 'points_ledger', entity_id: 'task_completed:t1:bob', action: 'update', data: { delta: 5000 } }),
          change({
            entity_type: 'points_ledger',
            entity_id: 'task_completed:t1:bob',
            data: { userId: 'bob', delta: 5000, reason: 'task_completed', taskId: 't1' },
          }),
          change({ entity_type: 'user_streak', entity_id: 'bob', action: 'delete' }),
          change({ entity_type: 'user_streak', entity_id: 'zed', data: { currentStreak: 3, longestStreak: 3 } }),
          change({ entity_type: 'badge', entity_id: 'bob:first_task', action: 'delete' }),
          change({ entity_type: 'badge', entity_id: 'bob:first_task', action: 'update', data: { awardedAt: now } }),
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: false, applied_count: 0, applied: [], errors: [] });
      const ledgerData = { userId: 'bob', delta: 50, reason: 'task_completed', taskId: 't1' };
      expect(res.body.conflicts).toEqual([
        expect.objectContaining({
          entity_type: 'user_streak',
          entity_id: 'bob',
          resolution: 'server_wins',
          conflict_reason: 'Server calculated',
          server_version: 1,
          server_data: { currentStreak: 1, longestStreak: 1 },
        }),
        expect.objectContaining({
          entity_type: 'badge',
          entity_id: 'bob:tasks_100',
          resolution: 'server_wins',
          conflict_reason: 'Immutable (server only)',
          server_data: null,
        }),
        expect.objectContaining({
          entity_type: 'points_ledger',
          entity_id: 'task_completed:t1:bob',
          resolution: 'server_wins',
          conflict_reason: 'Immutable',
          server_version: 1,
          server_data: ledgerData,
        }),
        expect.objectContaining({
          entity_type: 'points_ledger',
          resolution: 'server_wins',
          conflict_reason: 'Immutable',
          server_data: ledgerData,
        }),
        expect.objectContaining({
          entity_type: 'points_ledger',
          resolution: 'server_wins',
          conflict_reason: 'Immutable',
          server_data: ledgerData,
        }),
        expect.objectContaining({
          entity_type: 'user_streak',
          entity_id: 'bob',
          resolution: 'server_wins',
          conflict_reason: 'Server calculated',
        }),
        expect.objectContaining({
          entity_type: 'user_streak',
          entity_id: 'zed',
          resolution: 'server_wins',
          conflict_reason: 'Server calculated',
          server_data: null,
        }),
        expect.objectContaining({
          entity_type: 'badge',
          entity_id: 'bob:first_task',
          resolution: 'server_wins',
          conflict_reason: 'Immutable (server only)',
          server_version: 1,
        }),
        expect.objectContaining({
          entity_type: 'badge',
          entity_id: 'bob:first_task',
          resolution: 'server_wins',
          conflict_reason: 'Immutable (server only)',
        }),
      ]);
      expect(await snapshot(f.familyId)).toEqual(before);
      // Nothing of the computed types changed; the only rows written are the 9 inbox entries
      // (PROTOCOL 2.8), which come back to the device in the same answer.
      expect(res.body.server_changes.map((c: { entity_type: string }) => c.entity_type)).toEqual(Array(9).fill('conflict'));
      expect(
        res.body.server_changes.map((c: { data: { entityType: string; resolution: string } }) => [c.data.entityType, c.data.resolution]),
      ).toEqual(res.body.conflicts.map((c: { entity_type: string; resolution: string }) => [c.entity_type, c.resolution]));
    });
  });
});
