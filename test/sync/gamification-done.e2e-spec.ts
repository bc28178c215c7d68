import type { ServerChangeDto as ServerChange } from '../../apps/api/src/sync/dto/delta-response.dto';
import { badgeRow, computed, gamificationSuite, keys, ledgerRow, streakRow, task, update, utcDate } from '../support/gamification-helpers';
import { change, delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.3 / 2.5 "Computations": points, streaks and badges the server computes when a
 * task becomes done, seen through POST /sync/delta (same response and other devices) and
 * checked in the database. One of four suites (gamification-*.e2e-spec.ts) from the original
 * gamification.e2e-spec.ts, this one: the task that becomes done (what is credited, in the same
 * response and for other devices).
 */
describe('server computations (PROTOCOL 2.3): a task becomes done', () => {
  const { app, family, snapshot } = gamificationSuite();

  describe('a task becomes done', () => {
    it('points 50 and two assignees: two ledger rows, two streaks, two first_task badges, in the same response and for another device', async () => {
      const f = await family();
      const created = await delta(app(), f.token(), {
        device_id: 'phone',
        changes: [task('t1', { points: 50, assignees: ['bob', 'carol'] })],
      });
      expect(created.body).toMatchObject({ success: true, applied: [{ entity_id: 't1', version: 1 }] });
      expect(computed(created.body)).toEqual([]);
      const tablet = await delta(app(), f.token(), { device_id: 'tablet' });
      expect(tablet.body.server_changes).toHaveLength(1);

      const done = await delta(app(), f.token(), {
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
      const pulled = await delta(app(), f.token(), { device_id: 'tablet', last_sync_at: tablet.body.last_sync_at });
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
      const fresh = await delta(app(), f.token('bob'), { device_id: 'bob-phone' });
      expect(computed(fresh.body)).toEqual(expect.arrayContaining(expected));
      expect(computed(fresh.body)).toHaveLength(6);
      // ... and the requesting device, echoing its watermark, gets nothing twice.
      const again = await delta(app(), f.token(), { device_id: 'phone', last_sync_at: done.body.last_sync_at });
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
      const res = await delta(app(), f.token(), { changes: [task('t1', { status: 'done', points: 30, assignees: ['bob'] })] });
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
      const first = await delta(app(), f.token(), { changes: [task('t1', { points: 5, assignees: ['bob'] })] });
      const res = await delta(app(), f.token(), {
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
      const created = await delta(app(), f.token(), {
        device_id: 'phone',
        changes: [task('a', { points: 10, assignees: ['bob'] }), task('b', { points: 20, assignees: ['carol'] })],
      });
      // The tablet edits both tasks (version 2): the phone's versions are stale.
      await delta(app(), f.token(), {
        device_id: 'tablet',
        changes: [update('a', 1, { title: 'Tablet A' }), update('b', 1, { title: 'Tablet B' })],
      });

      const res = await delta(app(), f.token(), {
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
      const res = await delta(app(), f.token(), {
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
      const res = await delta(app(), f.token('bob'), {
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
      const res = await delta(app(), f.token(), {
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
      const res = await delta(app(), f.token(), {
        atomic: true,
        changes: [task('t1', { status: 'done', points: 50, assignees: ['bob'] }), task('bad', { title: '' })],
      });
      expect(res.body).toMatchObject({ success: false, applied_count: 0 });
      expect(computed(res.body)).toEqual([]);
      const db1 = await snapshot(f.familyId);
      expect([...db1.ledger, ...db1.streaks, ...db1.badges, ...db1.completions]).toEqual([]);
    });
  });
});
