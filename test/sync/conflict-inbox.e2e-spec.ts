import request from 'supertest';
import { Client } from 'pg';
import { bearer } from '@app/testing';
import type { ServerChangeDto } from '../../apps/api/src/sync/dto/delta-response.dto';
import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { sqlClient } from '../support/db-state';
import { change, ChangeInput, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The conflict inbox and the device history (PROTOCOL 2.8), through HTTP on a real database:
 * every merged or lost client change becomes a `conflict` entity that every device of the
 * family pulls; nothing else does.
 */
describe('conflict inbox (PROTOCOL 2.8)', () => {
  let t: TestApp;
  let sql: Client;

  beforeAll(async () => {
    t = await startTestApp();
    sql = await sqlClient(t, 'e2e-inbox');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const at = (hms: string) => `2025-11-11T${hms}Z`;
  const task = (c: ChangeInput) => change({ entity_type: 'task', ...c });
  const inboxRows = async (familyId: string) =>
    (
      await sql.query<{ id: string; data: Record<string, unknown> | null; deleted: boolean }>(
        'SELECT id, data, deleted_us IS NOT NULL AS deleted FROM conflicts WHERE family_id = $1 ORDER BY changed_us',
        [familyId],
      )
    ).rows;
  /** Everything a fresh device (or one at `since`) pulls, following has_more. */
  async function pull(
    f: FamilyFixture,
    device: string,
    since: string | null = null,
  ): Promise<{ changes: ServerChangeDto[]; last: string }> {
    const changes: ServerChangeDto[] = [];
    for (let cursor = since; ;) {
      const page = await syncOk(t, f.token(), { device_id: device, last_sync_at: cursor });
      changes.push(...page.server_changes);
      cursor = page.last_sync_at;
      if (!page.has_more) return { changes, last: page.last_sync_at };
    }
  }
  const inboxOf = (changes: ServerChangeDto[]) => changes.filter((c) => c.entity_type === 'conflict');

  /** A family with task t1 at version 2 (title changed by device a) and device b's stale view. */
  async function staleFamily(): Promise<{ f: FamilyFixture; bobToken: string }> {
    const f = await createFamily(t, 'alice');
    const bobToken = await f.addMember('bob');
    await syncOk(t, f.token(), {
      device_id: 'a',
      changes: [task({ entity_id: 't1', data: { title: 'first' }, client_timestamp: at('09:00:00') })],
    });
    await syncOk(t, f.token(), {
      device_id: 'a',
      changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'kept' }, client_timestamp: at('12:00:00') })],
    });
    return { f, bobToken };
  }

  /** An update of t1 from the stale version 1 whose title loses to device a's later one. */
  const staleTitle = (title = 'mine', time = '11:00:00') =>
    task({ entity_id: 't1', action: 'update', version: 1, data: { title }, client_timestamp: at(time) });

  it('a stale update whose title loses creates exactly one entry, pulled by every other device, with the rejected and the kept value', async () => {
    const { f, bobToken } = await staleFamily();
    const res = await syncOk(t, bobToken, {
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
    const res = await syncOk(t, bobToken, {
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
    const f = await createFamily(t, 'alice');
    await syncOk(t, f.token(), {
      device_id: 'a',
      changes: [
        task({ entity_id: 'gone', data: { title: 'g' }, client_timestamp: at('09:00:00') }),
        task({ entity_id: 'done', data: { title: 'd' }, client_timestamp: at('09:00:00') }),
      ],
    });
    await syncOk(t, f.token(), {
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
    const res = await syncOk(t, f.token(), {
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
    const first = await syncOk(t, bobToken, body);
    expect(first.errors).toHaveLength(1);
    const retry = await syncOk(t, bobToken, body);
    expect(retry.conflicts).toEqual(first.conflicts);
    expect(await inboxRows(f.familyId)).toHaveLength(1);
  });

  it('an atomic batch that rolls back records nothing', async () => {
    const { f, bobToken } = await staleFamily();
    const res = await syncOk(t, bobToken, {
      device_id: 'bob-phone',
      atomic: true,
      changes: [staleTitle()],
    });
    expect(res).toMatchObject({ success: false, applied_count: 0 });
    expect(await inboxRows(f.familyId)).toEqual([]);
  });

  it('a delete dismisses an entry: a tombstone every device pulls; an update of an entry is refused and not recorded', async () => {
    const { f, bobToken } = await staleFamily();
    await syncOk(t, bobToken, {
      device_id: 'bob-phone',
      changes: [staleTitle()],
    });
    const watcher = await pull(f, 'watcher');
    const [entry] = inboxOf(watcher.changes);

    const refused = await syncOk(t, bobToken, {
      device_id: 'bob-phone',
      changes: [change({ entity_type: 'conflict', entity_id: entry.entity_id, action: 'update', data: { rejected: {} } })],
    });
    expect(refused.conflicts).toEqual([
      expect.objectContaining({ entity_type: 'conflict', resolution: 'server_wins', conflict_reason: 'Immutable' }),
    ]);
    expect(await inboxRows(f.familyId)).toHaveLength(1);

    const dismissed = await syncOk(t, bobToken, {
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
    await syncOk(t, bobToken, { device_id: 'bob-phone', changes: [staleTitle('first try')] });
    const [old] = inboxOf((await pull(f, 'watcher')).changes);

    const both = await syncOk(t, bobToken, {
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
    await syncOk(t, bobToken, {
      device_id: 'bob-phone',
      changes: [staleTitle()],
    });
    const watcher = await pull(f, 'watcher');
    const [old] = inboxOf(watcher.changes);
    // A second, recent entry stays.
    await syncOk(t, bobToken, {
      device_id: 'bob-tablet',
      changes: [staleTitle('again', '11:30:00')],
    });
    const DAY_US = 86_400_000_000;
    await sql.query('UPDATE conflicts SET created_us = created_us - $2::bigint * 31 WHERE family_id = $1 AND id = $3', [
      f.familyId,
      DAY_US,
      old.entity_id,
    ]);

    const maintenance = t.app.get(SyncMaintenanceService);
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
    await sql.query('UPDATE conflicts SET deleted_us = deleted_us - $2::bigint * 31 WHERE family_id = $1 AND id = $3', [
      f.familyId,
      DAY_US,
      old.entity_id,
    ]);
    await maintenance.expireConflicts(30);
    expect((await inboxRows(f.familyId)).map((r) => r.deleted)).toEqual([false]);
  });
});

describe('device history (PROTOCOL 2.8)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const history = (token: string, device: string, query = '') =>
    request(t.server)
      .get(`/sync/devices/${encodeURIComponent(device)}/history${query}`)
      .set(bearer(token));

  it('lists the outcomes of a device, newest first, with resolution or code', async () => {
    const f = await createFamily(t, 'alice');
    const ok = (body: Record<string, unknown>) => syncOk(t, f.token(), { device_id: 'phone', ...body });
    await ok({ changes: [change({ entity_id: 'h1', data: { title: 'one' }, client_timestamp: '2025-11-11T09:00:00Z' })] });
    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [
        change({ entity_id: 'h1', action: 'update', version: 1, data: { title: 'two' }, client_timestamp: '2025-11-11T12:00:00Z' }),
      ],
    });
    await ok({
      changes: [
        change({ entity_id: 'h1', action: 'update', version: 1, data: { title: 'three' }, client_timestamp: '2025-11-11T10:00:00Z' }),
        change({ entity_id: 'h2', data: { title: 42 as unknown as string } }),
        change({ entity_id: 'h3', action: 'delete', version: 0 }),
      ],
    });
    const res = await history(f.token(), 'phone').expect(200);
    expect(res.body).toEqual([
      { at: expect.any(String), entity_type: 'task', entity_id: 'h3', action: 'delete', outcome: 'applied' },
      { at: expect.any(String), entity_type: 'task', entity_id: 'h2', action: 'create', outcome: 'error', code: 'validation' },
      { at: expect.any(String), entity_type: 'task', entity_id: 'h1', action: 'update', outcome: 'conflict', resolution: 'server_wins' },
      { at: expect.any(String), entity_type: 'task', entity_id: 'h1', action: 'create', outcome: 'applied' },
    ]);
    expect(res.body[0].at >= res.body[3].at).toBe(true);
    // The laptop's own history has its one change.
    expect((await history(f.token(), 'laptop').expect(200)).body).toEqual([
      expect.objectContaining({ entity_id: 'h1', outcome: 'applied' }),
    ]);
  });

  it('limit: default 50, 1..500, anything else is a 400 naming it', async () => {
    const f = await createFamily(t, 'alice');
    const changes = Array.from({ length: 60 }, (_, i) => change({ entity_id: `l${i}`, data: { title: `t${i}` } }));
    await syncOk(t, f.token(), { device_id: 'bulk', changes });
    expect((await history(f.token(), 'bulk').expect(200)).body).toHaveLength(50);
    const two = (await history(f.token(), 'bulk', '?limit=2').expect(200)).body;
    expect(two.map((e: { entity_id: string }) => e.entity_id)).toEqual(['l59', 'l58']);
    expect((await history(f.token(), 'bulk', '?limit=500').expect(200)).body).toHaveLength(60);
    for (const bad of ['0', '501', '-1', 'ten', '1.5']) {
      const res = await history(f.token(), 'bulk', `?limit=${bad}`).expect(400);
      expect(res.body.message).toMatch(/limit/);
    }
  });

  it("another family's device is not visible (an empty list, as for a device that never synced); non-members are refused", async () => {
    const mine = await createFamily(t, 'alice');
    const theirs = await createFamily(t, 'mallory');
    await syncOk(t, theirs.token(), { device_id: 'their-phone', changes: [change({ entity_id: 'secret', data: { title: 's' } })] });
    expect((await history(mine.token(), 'their-phone').expect(200)).body).toEqual([]);
    expect((await history(mine.token(), 'never-synced').expect(200)).body).toEqual([]);
    // A token naming a family its user does not belong to.
    await history(mine.token('eve'), 'their-phone').expect(403);
  });
});
