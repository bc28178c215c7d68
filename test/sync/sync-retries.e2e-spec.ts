import { familyRows, outcomes, retrySuite, scalar, ts } from '../support/retry-helpers';
import { change, delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.4 / 2.5: retries are exactly-once, and a fault in the middle of a request's
 * transaction leaves nothing of the batch behind (5xx), so that resending it is safe. One of
 * four suites (sync-retries*.e2e-spec.ts, helpers in test/support/retry-helpers.ts):
 * retries by digest and by change_id, and retried points, streaks and badges are not doubled.
 */
describe('sync retries are exactly-once (PROTOCOL 2.4, 2.5): digests, change_id, points', () => {
  const { createTask, taskRow, ledgerCount, familyPosition, app, family, sql } = retrySuite();

  it('the same request sent twice (digest keys) returns the original outcomes and writes nothing more', async () => {
    await createTask('r-a');
    const body = {
      device_id: 'phone-r1',
      changes: [
        change({ entity_id: 'r-a', action: 'update', version: 1, data: { title: 'A2' }, client_timestamp: ts() }),
        change({ entity_id: 'r-b', data: { title: 'B', desc: 'new' }, client_timestamp: ts() }),
        change({
          entity_type: 'points_ledger',
          entity_id: 'r-pl-1',
          data: { userId: 'alice', delta: 5, reason: 'bonus' },
          client_timestamp: ts(),
        }),
        change({ entity_id: 'r-c', action: 'delete', version: 0, client_timestamp: ts() }),
      ],
    };
    const first = await delta(app(), family().token(), body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: true, applied_count: 4, error_count: 0, conflicts: [], errors: [] });
    expect(first.body.applied).toEqual([
      { entity_type: 'task', entity_id: 'r-a', version: 2 },
      { entity_type: 'task', entity_id: 'r-b', version: 1 },
      { entity_type: 'points_ledger', entity_id: 'r-pl-1', version: 1 },
      { entity_type: 'task', entity_id: 'r-c', version: 0 },
    ]);
    const rowsAfterFirst = await familyRows(sql(), family().familyId);
    const positionAfterFirst = await familyPosition();
    const receiptsAfterFirst = await scalar(sql(), 'SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = $2', [
      family().familyId,
      'phone-r1',
    ]);
    expect(receiptsAfterFirst).toBe(4);

    for (let i = 0; i < 2; i++) {
      const retry = await delta(app(), family().token(), body);
      expect(retry.status).toBe(200);
      // The update did not turn into a false version conflict, the ledger entry was not doubled.
      expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    }
    expect(await familyRows(sql(), family().familyId)).toEqual(rowsAfterFirst);
    expect(await familyPosition()).toBe(positionAfterFirst);
    expect(await taskRow('r-a')).toMatchObject({ version: 2, data: expect.objectContaining({ title: 'A2' }) });
    expect(await ledgerCount(['r-pl-1'])).toBe(1);
    expect(
      await scalar(
        sql(),
        `SELECT coalesce(sum((data->>'delta')::int), 0) FROM points_ledger WHERE family_id = $1 AND data->>'userId' = 'alice' AND data->>'reason' = 'bonus'`,
        [family().familyId],
      ),
    ).toBe(5);
    expect(
      await scalar(sql(), 'SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = $2', [family().familyId, 'phone-r1']),
    ).toBe(4);
  });

  it('a digest ignores the key order of data: the same change re-serialised is still the retry', async () => {
    await createTask('r-ko');
    const at = ts();
    const first = await delta(app(), family().token(), {
      device_id: 'phone-ko',
      changes: [change({ entity_id: 'r-ko', action: 'update', version: 1, data: { title: 'K', desc: 'D' }, client_timestamp: at })],
    });
    expect(first.body.applied).toEqual([{ entity_type: 'task', entity_id: 'r-ko', version: 2 }]);
    const retry = await delta(app(), family().token(), {
      device_id: 'phone-ko',
      changes: [
        { client_timestamp: at, data: { desc: 'D', title: 'K' }, version: 1, action: 'update', entity_id: 'r-ko', entity_type: 'task' },
      ],
    });
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect((await taskRow('r-ko'))?.version).toBe(2);
  });

  it('a retried update stays applied even after another device changed the entity in between', async () => {
    const created = await createTask('r-x', { title: 'X0' }, 'phone-x');
    const mine = {
      device_id: 'phone-x',
      last_sync_at: created.last_sync_at,
      changes: [change({ entity_id: 'r-x', action: 'update', version: 1, data: { title: 'X1' }, client_timestamp: ts() })],
    };
    const first = await delta(app(), family().token(), mine);
    expect(first.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-x', version: 2 }] });

    const other = await delta(app(), family().token('bob'), {
      device_id: 'tablet-x',
      changes: [change({ entity_id: 'r-x', action: 'update', version: 2, data: { desc: 'by bob' }, client_timestamp: ts() })],
    });
    expect(other.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-x', version: 3 }] });

    // The first response was lost: the phone resends it.
    const retry = await delta(app(), family().token(), mine);
    expect(retry.status).toBe(200);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect(retry.body.conflicts).toEqual([]);
    // Nothing was re-applied: bob's write is still the latest, and the phone learns it.
    expect(await taskRow('r-x')).toMatchObject({ version: 3, data: expect.objectContaining({ title: 'X1', desc: 'by bob' }) });
    expect(retry.body.server_changes).toEqual([
      expect.objectContaining({
        entity_type: 'task',
        entity_id: 'r-x',
        version: 3,
        data: expect.objectContaining({ title: 'X1', desc: 'by bob' }),
      }),
    ]);
  });

  it('with change_id, a second change with the same change_id but different content is the retry', async () => {
    await createTask('r-cid');
    const first = await delta(app(), family().token(), {
      device_id: 'phone-cid',
      changes: [
        change({
          change_id: 'cid-task',
          entity_id: 'r-cid',
          action: 'update',
          version: 1,
          data: { title: 'first' },
          client_timestamp: ts(),
        }),
        change({
          change_id: 'cid-pl',
          entity_type: 'points_ledger',
          entity_id: 'r-cid-pl-x',
          data: { userId: 'alice', delta: 7 },
          client_timestamp: ts(),
        }),
      ],
    });
    expect(first.body).toMatchObject({ success: true, applied_count: 2 });
    const ledgerBefore = await scalar(sql(), 'SELECT count(*) FROM points_ledger WHERE family_id = $1', [family().familyId]);

    const second = await delta(app(), family().token(), {
      device_id: 'phone-cid',
      changes: [
        // Same change_id, other data, other timestamp: still the retry of the first.
        change({
          change_id: 'cid-task',
          entity_id: 'r-cid',
          action: 'update',
          version: 1,
          data: { title: 'second' },
          client_timestamp: ts(),
        }),
        // Same change_id, another ledger id: the entry is not doubled.
        change({
          change_id: 'cid-pl',
          entity_type: 'points_ledger',
          entity_id: 'r-cid-pl-y',
          data: { userId: 'alice', delta: 7 },
          client_timestamp: ts(),
        }),
      ],
    });
    expect(second.status).toBe(200);
    expect(outcomes(second.body)).toEqual(outcomes(first.body));
    expect(await taskRow('r-cid')).toMatchObject({ version: 2, data: expect.objectContaining({ title: 'first' }) });
    expect(await ledgerCount(['r-cid-pl-x'])).toBe(1);
    expect(await ledgerCount(['r-cid-pl-y'])).toBe(0);
    expect(await scalar(sql(), 'SELECT count(*) FROM points_ledger WHERE family_id = $1', [family().familyId])).toBe(ledgerBefore);
  });

  it('a retried points_ledger create is never doubled, also with change_id and in a mixed batch', async () => {
    const entry = change({
      entity_type: 'points_ledger',
      entity_id: 'r-pl-2',
      data: { userId: 'bob', delta: 40, reason: 'chores' },
      client_timestamp: ts(),
    });
    const withId = change({
      change_id: 'pl-cid-3',
      entity_type: 'points_ledger',
      entity_id: 'r-pl-3',
      data: { userId: 'bob', delta: -3 },
      client_timestamp: ts(),
    });
    const first = await delta(app(), family().token('bob'), { device_id: 'bob-phone', changes: [entry, withId] });
    expect(first.body).toMatchObject({ success: true, applied_count: 2 });
    const retry = await delta(app(), family().token('bob'), {
      device_id: 'bob-phone',
      changes: [
        withId,
        entry,
        change({ entity_type: 'points_ledger', entity_id: 'r-pl-4', data: { userId: 'bob', delta: 1 }, client_timestamp: ts() }),
      ],
    });
    expect(retry.body).toMatchObject({ success: true, applied_count: 3 });
    expect(retry.body.applied).toEqual([
      { entity_type: 'points_ledger', entity_id: 'r-pl-3', version: 1 },
      { entity_type: 'points_ledger', entity_id: 'r-pl-2', version: 1 },
      { entity_type: 'points_ledger', entity_id: 'r-pl-4', version: 1 },
    ]);
    expect(await ledgerCount(['r-pl-2', 'r-pl-3', 'r-pl-4'])).toBe(3);
    expect(
      await scalar(sql(), `SELECT sum((data->>'delta')::int) FROM points_ledger WHERE family_id = $1 AND id = ANY($2::text[])`, [
        family().familyId,
        ['r-pl-2', 'r-pl-3', 'r-pl-4'],
      ]),
    ).toBe(38);
    const versions = await sql().query('SELECT id, version FROM points_ledger WHERE family_id = $1 AND id LIKE $2 ORDER BY id', [
      family().familyId,
      'r-pl-%',
    ]);
    expect(versions.rows.every((r) => r.version === 1)).toBe(true);
  });

  it('a retried completion does not credit points, streaks or badges twice', async () => {
    await createTask('r-done', { title: 'Dishes', points: 15, assignees: ['carol'] });
    const body = {
      device_id: 'phone-done',
      changes: [change({ entity_id: 'r-done', action: 'update', version: 1, data: { status: 'done' }, client_timestamp: ts() })],
    };
    const first = await delta(app(), family().token(), body);
    expect(first.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-done', version: 2 }] });
    const serverRows = async () =>
      (await familyRows(sql(), family().familyId)).filter(
        (r) => r.t !== 'tasks' && (String(r.id).startsWith('carol') || String(r.id).includes(':r-done:') || r.id === 'carol'),
      );
    const before = await serverRows();
    // PROTOCOL 2.3: the completion credited carol once (ledger entry, streak, first_task badge).
    expect(await ledgerCount(['task_completed:r-done:carol'])).toBe(1);
    expect(before.map((r) => `${r.t}:${r.id}`)).toEqual(
      expect.arrayContaining(['points_ledger:task_completed:r-done:carol', 'user_streaks:carol', 'badges:carol:first_task']),
    );
    const retry = await delta(app(), family().token(), body);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect(await serverRows()).toEqual(before);
    expect((await taskRow('r-done'))?.version).toBe(2);
  });
});
