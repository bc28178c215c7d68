import { DataSource } from 'typeorm';
import { UserTotals1764116600000 } from '../../apps/api/src/gamification/migrations/1764116600000-user-totals';
import { badgeRow, computed, gamificationSuite, task, update } from '../support/gamification-helpers';
import { change, delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.3: the per-user totals behind badges and streaks (tasks completed, days, points)
 * are running totals in user_totals, kept by triggers on task_completions and points_ledger
 * (issue 32: summing a user's whole history on every completion slowed the service down as
 * families grew). They must always equal what the history says, whoever writes it.
 */
describe('server computations (PROTOCOL 2.3): per-user running totals', () => {
  const { app, sql, family } = gamificationSuite();

  /** user_totals of the family next to the same figures recomputed from the history. */
  const totalsAndHistory = async (familyId: string) => {
    const totals = await sql(
      `SELECT user_id, tasks::int, days, points::int FROM user_totals WHERE family_id = $1 AND (tasks > 0 OR points <> 0) ORDER BY user_id`,
      [familyId],
    );
    const history = await sql(
      `SELECT coalesce(c.user_id, l.user_id) AS user_id, coalesce(c.tasks, 0)::int AS tasks,
              coalesce(c.days, '{}') AS days, coalesce(l.points, 0)::int AS points
       FROM (SELECT user_id, count(*) AS tasks,
                    array_agg(DISTINCT completed_day - date '1970-01-01' ORDER BY completed_day - date '1970-01-01') AS days
             FROM task_completions WHERE family_id = $1 GROUP BY 1) AS c
       FULL JOIN (SELECT data->>'userId' AS user_id, sum((data->>'delta')::bigint) AS points
                  FROM points_ledger WHERE family_id = $1 AND deleted_us IS NULL GROUP BY 1) AS l ON l.user_id = c.user_id
       WHERE coalesce(c.tasks, 0) > 0 OR coalesce(l.points, 0) <> 0
       ORDER BY 1`,
      [familyId],
    );
    return { totals, history };
  };

  it('equal the history after parallel pushes of four devices: completions, reopenings, client ledger rows', async () => {
    const f = await family();
    const users = ['alice', 'bob', 'carol'];
    // Each device creates its tasks, then completes, reopens and completes them again, all devices at once.
    await Promise.all(
      [0, 1, 2, 3].map(async (d) => {
        const device_id = `device-${d}`;
        const ids = Array.from({ length: 6 }, (_, i) => `d${d}-t${i}`);
        const created = await delta(app(), f.token(), {
          device_id,
          changes: ids.map((id, i) =>
            task(id, { points: 5 * (i + 1), assignees: i % 3 === 2 ? [users[d % 3], users[(d + 1) % 3]] : [users[i % 3]] }),
          ),
        });
        expect(created.status).toBe(200);
        const done = await delta(app(), f.token(), {
          device_id,
          changes: [
            ...ids.map((id) => update(id, 1, { status: 'done' })),
            change({
              entity_type: 'points_ledger',
              entity_id: `bonus-${d}`,
              data: { userId: users[d % 3], delta: 7 - d, reason: 'bonus' },
            }),
          ],
        });
        expect(done.body).toMatchObject({ success: true });
        const reopened = await delta(app(), f.token(), {
          device_id,
          changes: ids.slice(0, 3).map((id) => update(id, 2, { status: 'open' })),
        });
        expect(reopened.body).toMatchObject({ success: true });
        const again = await delta(app(), f.token(), { device_id, changes: ids.slice(0, 3).map((id) => update(id, 3, { status: 'done' })) });
        expect(again.body).toMatchObject({ success: true });
      }),
    );
    const { totals, history } = await totalsAndHistory(f.familyId);
    expect(history.length).toBe(3);
    expect(totals).toEqual(history);
    // A completion counts once per (task, user): 24 tasks, 8 with two assignees.
    expect(totals.reduce((n, t) => n + Number(t.tasks), 0)).toBe(32);
  });

  it('follow writes that do not come through a push: an operator tombstoning or correcting a ledger row', async () => {
    const f = await family();
    const res = await delta(app(), f.token(), {
      changes: [
        change({ entity_type: 'points_ledger', entity_id: 'l1', data: { userId: 'bob', delta: 40, reason: 'bonus' } }),
        change({ entity_type: 'points_ledger', entity_id: 'l2', data: { userId: 'bob', delta: 30, reason: 'bonus' } }),
      ],
    });
    expect(res.body).toMatchObject({ success: true, applied_count: 2 });
    await sql(`UPDATE points_ledger SET deleted_us = changed_us, data = NULL WHERE family_id = $1 AND id = 'l1'`, [f.familyId]);
    await sql(`UPDATE points_ledger SET data = jsonb_set(data, '{delta}', '65') WHERE family_id = $1 AND id = 'l2'`, [f.familyId]);
    const { totals, history } = await totalsAndHistory(f.familyId);
    expect(totals).toEqual([{ user_id: 'bob', tasks: 0, days: [], points: 65 }]);
    expect(totals).toEqual(history);
    // The corrected total is what the badges read: 65 + 40 from a completion reaches points_100.
    const done = await delta(app(), f.token(), {
      last_sync_at: res.body.last_sync_at,
      changes: [task('t1', { status: 'done', points: 40, assignees: ['bob'] })],
    });
    expect(computed(done.body)).toEqual(expect.arrayContaining([badgeRow('bob', 'points_100')]));
  });

  it('a user with 3,000 completions in the history: the next completion awards the task badges from the totals', async () => {
    const f = await family();
    await sql(
      `INSERT INTO task_completions (family_id, task_id, user_id, completed_day)
       SELECT $1, 'old-' || n, 'bob', date '2020-01-01' + (n % 400) FROM generate_series(1, 3000) AS n`,
      [f.familyId],
    );
    const done = await delta(app(), f.token(), { changes: [task('t1', { status: 'done', points: 0, assignees: ['bob'] })] });
    expect(computed(done.body)).toEqual(
      expect.arrayContaining([badgeRow('bob', 'first_task'), badgeRow('bob', 'tasks_10'), badgeRow('bob', 'tasks_100')]),
    );
    const { totals, history } = await totalsAndHistory(f.familyId);
    expect(totals).toEqual(history);
    expect(totals[0]).toMatchObject({ user_id: 'bob', tasks: 3001 });
    expect((totals[0].days as number[]).length).toBe(401);
  });

  it('the migration fills the totals from the history a database already has', async () => {
    const f = await family();
    await delta(app(), f.token(), {
      changes: [
        task('t1', { status: 'done', points: 10, assignees: ['alice', 'bob'] }),
        change({ entity_type: 'points_ledger', entity_id: 'l1', data: { userId: 'carol', delta: 12, reason: 'bonus' } }),
      ],
    });
    const before = await totalsAndHistory(f.familyId);
    const runner = app().app.get(DataSource).createQueryRunner();
    try {
      const migration = new UserTotals1764116600000();
      await runner.startTransaction();
      await migration.down(runner);
      await migration.up(runner);
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    const after = await totalsAndHistory(f.familyId);
    expect(after.totals).toEqual(before.history);
    expect(after.totals.map((t) => t.user_id)).toEqual(['alice', 'bob', 'carol']);
  });
});
