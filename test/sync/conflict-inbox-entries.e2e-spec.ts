import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { inboxSuite } from '../support/conflict-inbox-helpers';
import { change, createFamily, syncOk } from '../support/sync-fixtures';

/**
 * The conflict inbox (PROTOCOL 2.8), through HTTP on a real database: every merged or lost
 * client change becomes a `conflict` entity that every device of the family pulls; nothing
 * else does. The first describe of the original conflict-inbox.e2e-spec.ts (the device
 * history is conflict-inbox-history.e2e-spec.ts).
 */
describe('conflict inbox (PROTOCOL 2.8)', () => {
  const { app, sql, at, task, inboxRows, pull, inboxOf, staleFamily, staleTitle } = inboxSuite();

  it('a stale update whose title loses creates exactly one entry, pulled by every other device, with the rejected and the kept value', async () => {
    const { f, bobToken } = await staleFamily();
    const res = await syncOk(app(), bobToken, {
      device_id: 'bob-phone',
      changes: [staleTitle()],
    });
    expect(res.conflicts).toEqual([expect.objectContaining({ entity_id: 't1', resolution: 'server_wins', rejected_fields: ['title'] })]);
    expect(await inboxRows(f.familyId)).toHaveLength(1);

    const other = inboxOf((await pull(f, 'alice-laptop')).changes);
    expect(other).toEqual([
      expect.objectContaining({
        entity_type: 'conflict',
        action: 'create',
        version: 1,
        data: {
          entityType: 'task',
          entityId: 't1',
          action: 'update',
          userId: 'bob',
          deviceId: 'bob-phone',
          resolution: 'server_wins',
          reason: 'Version mismatch',
          rejected: { title: 'mine' },
          server: { title: 'kept' },
          clientTimestamp: at('11:00:00'),
          at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
        },
      }),
    ]);
    // The device that lost gets it in the same answer, after the task.
    expect(res.server_changes.map((c) => c.entity_type)).toEqual(['task', 'conflict']);
  });

  it('a merge records only the rejected fields', async () => {
    const { f, bobToken } = await staleFamily();
    const res = await syncOk(app(), bobToken, {
      device_id: 'bob-phone',
      changes: [
        task({
          entity_id: 't1',
          action: 'update',
          version: 1,
          data: { title: 'mine', desc: 'new details' },
          client_timestamp: at('11:00:00'),
        }),
      ],
    });
    expect(res.conflicts).toEqual([expect.objectContaining({ resolution: 'merged', rejected_fields: ['title'] })]);
    const [entry] = inboxOf((await pull(f, 'watcher')).changes);
    expect(entry.data).toMatchObject({ resolution: 'merged', rejected: { title: 'mine' }, server: { title: 'kept' } });
  });

  it('delete_wins, done_wins and a change to a server-owned type are recorded', async () => {
    const f = await createFamily(app(), 'alice');
    await syncOk(app(), f.token(), {
      device_id: 'a',
      changes: [
        task({ entity_id: 'gone', data: { title: 'g' }, client_timestamp: at('09:00:00') }),
        task({ entity_id: 'done', data: { title: 'd' }, client_timestamp: at('09:00:00') }),
      ],
    });
    await syncOk(app(), f.token(), {
      device_id: 'a',
      changes: [
        task({ entity_id: 'gone', action: 'delete', version: 1, client_timestamp: at('10:00:00') }),
        task({
          entity_id: 'done',
          action: 'update',
          version: 1,
          data: { status: 'done', completedAt: at('10:00:00') },
          client_timestamp: at('10:00:00'),
        }),
      ],
    });
    const res = await syncOk(app(), f.token(), {
      device_id: 'b',
      changes: [
        task({ entity_id: 'gone', action: 'update', version: 1, data: { title: 'revived' }, client_timestamp: at('11:00:00') }),
        task({ entity_id: 'done', action: 'update', version: 1, data: { status: 'open' }, client_timestamp: at('11:00:00') }),
        change({
          entity_type: 'badge',
          entity_id: 'alice:tasks_100',
          data: { userId: 'alice', code: 'tasks_100', awardedAt: at('11:00:00') },
        }),
      ],
    });
    expect(res.conflicts.map((c) => c.resolution)).toEqual(['delete_wins', 'done_wins', 'server_wins']);
    const entries = inboxOf((await pull(f, 'watcher')).changes).map((c) => c.data);
    expect(entries).toEqual([
      expect.objectContaining({ entityId: 'gone', resolution: 'delete_wins', rejected: { title: 'revived' }, server: { title: null } }),
      expect.objectContaining({ entityId: 'done', resolution: 'done_wins', rejected: { status: 'open' }, server: { status: 'done' } }),
      expect.objectContaining({
        entityType: 'badge',
        entityId: 'alice:tasks_100',
        resolution: 'server_wins',
        reason: 'Immutable (server only)',
      }),
    ]);
  });

  it('a retry of the same request adds nothing; errors and applied changes record nothing', async () => {
    const { f, bobToken } = await staleFamily();
    const body = {
      device_id: 'bob-phone',
      changes: [
        task({
          entity_id: 't1',
          action: 'update',
          version: 1,
          data: { title: 'mine' },
          client_timestamp: at('11:00:00'),
          change_id: 'c-1',
        }),
        task({ entity_id: 't2', data: { title: 'fine' }, change_id: 'c-2' }),
        task({ entity_id: 't3', data: { title: 42 as unknown as string }, change_id: 'c-3' }),
      ],
    };
    const first = await syncOk(app(), bobToken, body);
    expect(first.errors).toHaveLength(1);
    const retry = await syncOk(app(), bobToken, body);
    expect(retry.conflicts).toEqual(first.conflicts);
    expect(await inboxRows(f.familyId)).toHaveLength(1);
  });

  it('an atomic batch that rolls back records nothing', async () => {
    const { f, bobToken } = await staleFamily();
    const res = await syncOk(app(), bobToken, {
      device_id: 'bob-phone',
      atomic: true,
      changes: [staleTitle()],
    });
    expect(res).toMatchObject({ success: false, applied_count: 0 });
    expect(await inboxRows(f.familyId)).toEqual([]);
  });

  it('a delete dismisses an entry: a tombstone every device pulls; an update of an entry is refused and not recorded', async () => {
    const { f, bobToken } = await staleFamily();
    await syncOk(app(), bobToken, {
      device_id: 'bob-phone',
      changes: [staleTitle()],
    });
    const watcher = await pull(f, 'watcher');
    const [entry] = inboxOf(watcher.changes);

    const refused = await syncOk(app(), bobToken, {
      device_id: 'bob-phone',
      changes: [change({ entity_type: 'conflict', entity_id: entry.entity_id, action: 'update', data: { rejected: {} } })],
    });
    expect(refused.conflicts).toEqual([
      expect.objectContaining({ entity_type: 'conflict', resolution: 'server_wins', conflict_reason: 'Immutable' }),
    ]);
    expect(await inboxRows(f.familyId)).toHaveLength(1);

    const dismissed = await syncOk(app(), bobToken, {
      device_id: 'bob-phone',
      changes: [change({ entity_type: 'conflict', entity_id: entry.entity_id, action: 'delete' })],
    });
    expect(dismissed.applied).toEqual([{ entity_type: 'conflict', entity_id: entry.entity_id, version: 2 }]);
    expect((await pull(f, 'watcher', watcher.last)).changes).toEqual([
      expect.objectContaining({ entity_type: 'conflict', entity_id: entry.entity_id, action: 'delete', data: null, version: 2 }),
    ]);
    expect(inboxOf((await pull(f, 'fresh-device')).changes)).toEqual([]);
  });

  it('a dismissal in the same request as a new conflict is kept: the old entry deleted, the new one live', async () => {
    const { f, bobToken } = await staleFamily();
    await syncOk(app(), bobToken, { device_id: 'bob-phone', changes: [staleTitle('first try')] });
    const [old] = inboxOf((await pull(f, 'watcher')).changes);

    const both = await syncOk(app(), bobToken, {
      device_id: 'bob-phone',
      changes: [change({ entity_type: 'conflict', entity_id: old.entity_id, action: 'delete' }), staleTitle('second try', '11:30:00')],
    });
    expect(both.applied).toEqual([{ entity_type: 'conflict', entity_id: old.entity_id, version: 2 }]);
    expect(both.conflicts).toEqual([expect.objectContaining({ entity_id: 't1', resolution: 'server_wins' })]);
    const rows = await inboxRows(f.familyId);
    expect(rows.map((r) => [r.id === old.entity_id, r.deleted])).toEqual([
      [true, true],
      [false, false],
    ]);
    const live = inboxOf((await pull(f, 'fresh-device')).changes);
    expect(live).toEqual([
      expect.objectContaining({ action: 'create', data: expect.objectContaining({ rejected: { title: 'second try' } }) }),
    ]);
  });

  it('the purge expires entries past SYNC_CONFLICT_DAYS (every device pulls the delete), then removes their tombstones', async () => {
    const { f, bobToken } = await staleFamily();
    await syncOk(app(), bobToken, {
      device_id: 'bob-phone',
      changes: [staleTitle()],
    });
    const watcher = await pull(f, 'watcher');
    const [old] = inboxOf(watcher.changes);
    // A second, recent entry stays.
    await syncOk(app(), bobToken, {
      device_id: 'bob-tablet',
      changes: [staleTitle('again', '11:30:00')],
    });
    const DAY_US = 86_400_000_000;
    await sql().query('UPDATE conflicts SET created_us = created_us - $2::bigint * 31 WHERE family_id = $1 AND id = $3', [
      f.familyId,
      DAY_US,
      old.entity_id,
    ]);

    const maintenance = app().app.get(SyncMaintenanceService);
    expect(await maintenance.expireConflicts(30)).toBe(1);
    const after = await pull(f, 'watcher', watcher.last);
    expect(after.changes.find((c) => c.entity_id === old.entity_id)).toMatchObject({
      entity_type: 'conflict',
      action: 'delete',
      data: null,
    });
    expect((await inboxRows(f.familyId)).map((r) => [r.id === old.entity_id, r.deleted])).toEqual([
      [false, false],
      [true, true],
    ]);

    // Its tombstone too, once it is older than the retention.
    await sql().query('UPDATE conflicts SET deleted_us = deleted_us - $2::bigint * 31 WHERE family_id = $1 AND id = $3', [
      f.familyId,
      DAY_US,
      old.entity_id,
    ]);
    await maintenance.expireConflicts(30);
    expect((await inboxRows(f.familyId)).map((r) => r.deleted)).toEqual([false]);
  });
});
