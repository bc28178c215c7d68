import { badgeRow, computed, gamificationSuite, keys, ledgerRow, task } from '../support/gamification-helpers';
import { change, delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.3 / 2.5 "Computations": points, streaks and badges the server computes when a
 * task becomes done, seen through POST /sync/delta (same response and other devices) and
 * checked in the database. One of four suites (gamification-*.e2e-spec.ts) from the original
 * gamification.e2e-spec.ts, this one: badges (points and task-count badges) and client writes
 * to the computed types.
 */
describe('server computations (PROTOCOL 2.3): badges, computed types', () => {
  const { app, sql, family, snapshot, streakOf } = gamificationSuite();

  describe('badges', () => {
    it('points_100 from client-created ledger rows plus a completion', async () => {
      const f = await family();
      const bonus = await delta(app(), f.token(), {
        changes: [
          change({ entity_type: 'points_ledger', entity_id: 'bonus-1', data: { userId: 'bob', delta: 35, reason: 'bonus' } }),
          change({ entity_type: 'points_ledger', entity_id: 'bonus-2', data: { userId: 'bob', delta: 25, reason: 'bonus' } }),
        ],
      });
      expect(bonus.body).toMatchObject({ success: true, applied_count: 2 });
      expect(computed(bonus.body)).toEqual([]); // 60 points: no badge; the ledger rows were fully applied by this request

      const done = await delta(app(), f.token(), {
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
      const r1 = await delta(app(), f.token(), { changes: [ledger('l1', 'carol', 99)] });
      expect(computed(r1.body)).toEqual([]);
      const r2 = await delta(app(), f.token(), { last_sync_at: r1.body.last_sync_at, changes: [ledger('l2', 'carol', 1)] });
      expect(computed(r2.body)).toEqual([badgeRow('carol', 'points_100')]);
      const r3 = await delta(app(), f.token(), { last_sync_at: r2.body.last_sync_at, changes: [ledger('l3', 'carol', 899)] });
      expect(computed(r3.body)).toEqual([]);
      const r4 = await delta(app(), f.token(), { last_sync_at: r3.body.last_sync_at, changes: [ledger('l4', 'carol', 1)] });
      expect(computed(r4.body)).toEqual([badgeRow('carol', 'points_1000')]);
      // A negative entry does not take a badge back; new points award nothing twice.
      const r5 = await delta(app(), f.token(), {
        last_sync_at: r4.body.last_sync_at,
        changes: [ledger('l5', 'carol', -950), ledger('l6', 'carol', 2000)],
      });
      expect(computed(r5.body)).toEqual([]);
      // A replayed ledger create (same data) changes nothing.
      const r6 = await delta(app(), f.token(), {
        device_id: 'other',
        last_sync_at: r5.body.last_sync_at,
        changes: [ledger('l4', 'carol', 1)],
      });
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
      const nine = await delta(app(), f.token(), {
        changes: Array.from({ length: 9 }, (_, i) => task(`t${i}`, { status: 'done', assignees: ['bob'] })),
      });
      expect(keys(computed(nine.body))).toEqual(['badge/bob:first_task', 'user_streak/bob']);
      const tenth = await delta(app(), f.token(), {
        last_sync_at: nine.body.last_sync_at,
        changes: [task('t9', { status: 'done', assignees: ['bob'] })],
      });
      expect(computed(tenth.body)).toEqual([badgeRow('bob', 'tasks_10')]);
    });
  });

  describe('client writes to the computed types', () => {
    it('answer server_wins and change nothing: update of a user_streak, create of a badge, delete of a ledger row', async () => {
      const f = await family();
      const done = await delta(app(), f.token(), { changes: [task('t1', { status: 'done', points: 50, assignees: ['bob'] })] });
      expect(computed(done.body)).toHaveLength(3);
      const before = await snapshot(f.familyId);
      const now = new Date().toISOString();

      const res = await delta(app(), f.token('bob'), {
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
