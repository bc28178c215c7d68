import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from '../support/test-app';
import { change, ChangeInput, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import type { ServerChangeDto as ServerChange } from '../../apps/api/src/sync/dto/delta-response.dto';

/**
 * POST /sync/delta conflict rules (PROTOCOL 2.1) and per-change errors (PROTOCOL 2.2), over HTTP
 * against a real PostgreSQL: the eight coverage items of the original API document
 * (no-conflict sync, done wins, delete wins, version mismatch, last writer wins, batch
 * rollback, empty changes, concurrent users) and the per-change outcomes.
 */

/** A fixed day: field times are compared, so tests choose them. */
const at = (time: string) => `2025-11-11T${time}Z`;
const TASK_DEFAULTS = { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };

describe('sync rules (POST /sync/delta)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  const sync = (token: string, body: Record<string, unknown>) => syncOk(t, token, body);

  /** Everything a device pulls from `since` (paging until has_more is false). */
  async function pull(
    token: string,
    device: string,
    since: string | null = null,
  ): Promise<{ changes: ServerChange[]; last_sync_at: string }> {
    const changes: ServerChange[] = [];
    let cursor = since;
    for (let page = 0; page < 100; page++) {
      const b = await sync(token, { device_id: device, last_sync_at: cursor });
      changes.push(...b.server_changes);
      cursor = b.last_sync_at;
      if (!b.has_more) return { changes, last_sync_at: b.last_sync_at };
    }
    throw new Error('pull did not terminate');
  }

  /** The current server state of one entity, as a fresh device sees it (undefined: absent). */
  async function stateOf(f: FamilyFixture, type: string, id: string): Promise<ServerChange | undefined> {
    const { changes } = await pull(f.token(), `observer-${Math.random()}`);
    return changes.find((c) => c.entity_type === type && c.entity_id === id);
  }

  /** Stored row (tombstones too), read directly from PostgreSQL. */
  async function row(
    table: string,
    familyId: string,
    id: string,
  ): Promise<{ version: number; data: Record<string, unknown> | null; deleted_us: string | null } | undefined> {
    const rows = await t.app
      .get(DataSource)
      .query(`SELECT version, data, deleted_us FROM ${table} WHERE family_id = $1 AND id = $2`, [familyId, id]);
    return rows[0];
  }

  const task = (c: ChangeInput) => change({ entity_type: 'task', ...c });
  const event = (c: ChangeInput) => change({ entity_type: 'event', ...c });

  /** A family with one task created at `createdAt` (version 1). */
  async function familyWithTask(id: string, data: Record<string, unknown>, createdAt = at('10:00:00')): Promise<FamilyFixture> {
    const f = await createFamily(t);
    const b = await sync(f.token(), { device_id: 'setup', changes: [task({ entity_id: id, data, client_timestamp: createdAt })] });
    expect(b.applied).toEqual([{ entity_type: 'task', entity_id: id, version: 1 }]);
    return f;
  }

  describe('no-conflict sync', () => {
    it('applies creates, updates and deletes of tasks and events; another device pulls them all', async () => {
      const f = await createFamily(t);
      const first = await sync(f.token(), {
        device_id: 'phone',
        changes: [
          task({ entity_id: 't1', data: { title: 'Dishes', points: 5, assignees: ['alice'] } }),
          task({ entity_id: 't2', data: { title: 'Laundry' } }),
          event({ entity_id: 'e1', data: { title: 'Dentist', start: '2025-11-20T09:00:00Z' } }),
        ],
      });
      expect(first).toMatchObject({
        success: true,
        applied_count: 3,
        error_count: 0,
        conflicts: [],
        errors: [],
        resync_required: false,
        has_more: false,
      });
      expect(first.applied.map(({ entity_type, entity_id, version }) => ({ entity_type, entity_id, version }))).toEqual([
        { entity_type: 'task', entity_id: 't1', version: 1 },
        { entity_type: 'task', entity_id: 't2', version: 1 },
        { entity_type: 'event', entity_id: 'e1', version: 1 },
      ]);
      expect(first.server_changes).toEqual([]);

      const second = await sync(f.token(), {
        device_id: 'phone',
        last_sync_at: first.last_sync_at,
        changes: [
          task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'Dishes (all)' } }),
          task({ entity_id: 't2', action: 'delete', version: 1 }),
        ],
      });
      expect(second).toMatchObject({ success: true, applied_count: 2, conflicts: [], errors: [], server_changes: [] });
      expect(second.applied).toEqual([
        { entity_type: 'task', entity_id: 't1', version: 2 },
        { entity_type: 'task', entity_id: 't2', version: 2 },
      ]);

      const tablet = await pull(f.token(), 'tablet');
      expect(tablet.changes).toEqual([
        expect.objectContaining({ entity_type: 'event', entity_id: 'e1', action: 'create', version: 1 }),
        expect.objectContaining({
          entity_type: 'task',
          entity_id: 't1',
          action: 'create',
          version: 2,
          data: { ...TASK_DEFAULTS, title: 'Dishes (all)', points: 5, assignees: ['alice'] },
        }),
      ]);
      expect(tablet.changes.find((c) => c.entity_id === 'e1')!.data).toEqual({
        title: 'Dentist',
        start: '2025-11-20T09:00:00Z',
        description: null,
        end: null,
        attendees: [],
      });
    });

    it('an update is a partial patch: absent fields keep their value', async () => {
      const f = await familyWithTask('t1', { title: 'A', desc: 'keep me', points: 7, assignees: ['bob'] });
      const b = await sync(f.token(), {
        changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { status: 'in_progress' } })],
      });
      expect(b.applied).toEqual([{ entity_type: 'task', entity_id: 't1', version: 2 }]);
      expect((await stateOf(f, 'task', 't1'))!.data).toEqual({
        ...TASK_DEFAULTS,
        title: 'A',
        desc: 'keep me',
        points: 7,
        assignees: ['bob'],
        status: 'in_progress',
      });
    });
  });

  describe('done wins (rule 3)', () => {
    it('a stale change setting done is applied with completedAt, keeping the server title (even if older)', async () => {
      const f = await familyWithTask('t1', { title: 'Original' });
      // Another device renames and starts the task later than the completing device's change.
      const other = await sync(f.token(), {
        device_id: 'other',
        changes: [
          task({
            entity_id: 't1',
            action: 'update',
            version: 1,
            data: { title: 'Renamed', status: 'in_progress' },
            client_timestamp: at('13:00:00'),
          }),
        ],
      });
      expect(other.applied).toEqual([{ entity_type: 'task', entity_id: 't1', version: 2 }]);

      const done = await sync(f.token(), {
        device_id: 'phone',
        changes: [
          task({
            entity_id: 't1',
            action: 'update',
            version: 1,
            data: { status: 'done', completedAt: at('12:30:00') },
            client_timestamp: at('12:30:00'),
          }),
        ],
      });
      const expected = { ...TASK_DEFAULTS, title: 'Renamed', status: 'done', completedAt: at('12:30:00') };
      expect(done).toMatchObject({ success: true, conflicts: [], errors: [], applied_count: 1 });
      // Stale version: the entry carries the full state the client has not seen.
      expect(done.applied).toEqual([{ entity_type: 'task', entity_id: 't1', version: 3, data: expected }]);
      expect(await stateOf(f, 'task', 't1')).toMatchObject({ version: 3, data: expected });
    });

    it('a stale change cannot move a done task back: done_wins alone, merged with other fields', async () => {
      const f = await familyWithTask('t1', { title: 'T' });
      await sync(f.token(), {
        device_id: 'a',
        changes: [
          task({
            entity_id: 't1',
            action: 'update',
            version: 1,
            data: { status: 'done', completedAt: at('11:00:00') },
            client_timestamp: at('11:00:00'),
          }),
        ],
      });
      // Newer than the done, but stale: the status loses anyway, the title wins by time.
      const merged = await sync(f.token(), {
        device_id: 'b',
        changes: [
          task({ entity_id: 't1', action: 'update', version: 1, data: { status: 'open', title: 'T2' }, client_timestamp: at('15:00:00') }),
        ],
      });
      const afterMerge = { ...TASK_DEFAULTS, title: 'T2', status: 'done', completedAt: at('11:00:00') };
      expect(merged.success).toBe(false);
      expect(merged.conflicts).toEqual([
        expect.objectContaining({
          entity_type: 'task',
          entity_id: 't1',
          resolution: 'merged',
          client_version: 1,
          server_version: 3,
          server_data: afterMerge,
          rejected_fields: ['status'],
        }),
      ]);
      expect(merged.applied).toEqual([{ entity_type: 'task', entity_id: 't1', version: 3, data: afterMerge }]);
      expect(merged.applied_count).toBe(1);

      const lost = await sync(f.token(), {
        device_id: 'c',
        changes: [
          task({ entity_id: 't1', action: 'update', version: 2, data: { status: 'in_progress' }, client_timestamp: at('16:00:00') }),
        ],
      });
      expect(lost).toMatchObject({ success: false, applied: [], applied_count: 0 });
      expect(lost.conflicts).toEqual([
        expect.objectContaining({
          entity_id: 't1',
          resolution: 'done_wins',
          client_version: 2,
          server_version: 3,
          server_data: afterMerge,
          rejected_fields: ['status'],
        }),
      ]);
      expect(await stateOf(f, 'task', 't1')).toMatchObject({ version: 3, data: afterMerge });
    });

    it('with the current version a done task may be reopened (not a conflict)', async () => {
      const f = await familyWithTask('t1', { title: 'T', status: 'done', completedAt: at('10:00:00') });
      const b = await sync(f.token(), {
        changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { status: 'open', completedAt: null } })],
      });
      expect(b).toMatchObject({ success: true, conflicts: [], applied: [{ entity_type: 'task', entity_id: 't1', version: 2 }] });
      expect((await stateOf(f, 'task', 't1'))!.data).toMatchObject({ status: 'open', completedAt: null });
    });
  });

  describe('delete wins (rule 2)', () => {
    it('a delete is applied whatever the version; later updates and creates of the id lose with delete_wins', async () => {
      const f = await familyWithTask('t1', { title: 'T' });
      await sync(f.token(), { device_id: 'a', changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'T2' } })] });

      const del = await sync(f.token(), { device_id: 'b', changes: [task({ entity_id: 't1', action: 'delete', version: 1 })] });
      expect(del).toMatchObject({ success: true, conflicts: [], applied: [{ entity_type: 'task', entity_id: 't1', version: 3 }] });
      expect(await row('tasks', f.familyId, 't1')).toMatchObject({ version: 3, deleted_us: expect.any(String) });

      const upd = await sync(f.token(), {
        device_id: 'a',
        changes: [
          task({ entity_id: 't1', action: 'update', version: 2, data: { title: 'T3' }, client_timestamp: at('23:00:00') }),
          task({ entity_id: 't1', action: 'create', version: 0, data: { title: 'Reborn' } }),
        ],
      });
      expect(upd).toMatchObject({ success: false, applied: [], applied_count: 0, errors: [] });
      expect(upd.conflicts).toEqual([
        expect.objectContaining({
          entity_type: 'task',
          entity_id: 't1',
          resolution: 'delete_wins',
          client_version: 2,
          server_version: 3,
          server_data: null,
        }),
        expect.objectContaining({
          entity_type: 'task',
          entity_id: 't1',
          resolution: 'delete_wins',
          client_version: 0,
          server_version: 3,
          server_data: null,
        }),
      ]);
      const stored = await row('tasks', f.familyId, 't1');
      expect(stored).toMatchObject({ version: 3, deleted_us: expect.any(String) });
      // A device that knew the task learns the delete.
      const since = await pull(f.token(), 'watcher', '2000-01-01T00:00:00Z');
      expect(since.changes).toEqual([
        expect.objectContaining({ entity_id: 't1', action: 'delete', data: null, version: 3 }),
        // The two changes that lost to the delete, in the conflict inbox (PROTOCOL 2.8).
        expect.objectContaining({
          entity_type: 'conflict',
          data: expect.objectContaining({ entityId: 't1', action: 'update', resolution: 'delete_wins', rejected: { title: 'T3' } }),
        }),
        expect.objectContaining({
          entity_type: 'conflict',
          data: expect.objectContaining({ entityId: 't1', action: 'create', resolution: 'delete_wins' }),
        }),
      ]);
      // A fresh device never sees it.
      expect(await stateOf(f, 'task', 't1')).toBeUndefined();
    });

    it('deleting again is a no-op: applied, version unchanged', async () => {
      const f = await familyWithTask('t1', { title: 'T' });
      await sync(f.token(), { device_id: 'a', changes: [task({ entity_id: 't1', action: 'delete', version: 1 })] });
      const again = await sync(f.token(), { device_id: 'b', changes: [task({ entity_id: 't1', action: 'delete', version: 1 })] });
      expect(again).toMatchObject({ success: true, applied: [{ entity_type: 'task', entity_id: 't1', version: 2 }] });
      expect(await row('tasks', f.familyId, 't1')).toMatchObject({ version: 2 });
    });

    it('an event update after its delete loses with delete_wins, whatever its timestamp', async () => {
      const f = await createFamily(t);
      await sync(f.token(), {
        changes: [event({ entity_id: 'e1', data: { title: 'E', start: at('18:00:00') }, client_timestamp: at('10:00:00') })],
      });
      const del = await sync(f.token(), { changes: [event({ entity_id: 'e1', action: 'delete', client_timestamp: at('09:00:00') })] });
      expect(del).toMatchObject({
        success: true,
        applied: [expect.objectContaining({ entity_type: 'event', entity_id: 'e1', version: 2 })],
      });
      const upd = await sync(f.token(), {
        device_id: 'late',
        changes: [event({ entity_id: 'e1', action: 'update', data: { title: 'Later' }, client_timestamp: at('23:59:00') })],
      });
      expect(upd.conflicts).toEqual([
        expect.objectContaining({ entity_type: 'event', entity_id: 'e1', resolution: 'delete_wins', server_data: null }),
      ]);
      expect(upd.applied).toEqual([]);
      expect(await row('events', f.familyId, 'e1')).toMatchObject({ version: 2, data: null, deleted_us: expect.any(String) });
    });
  });

  describe('version mismatch (rule 1)', () => {
    it('the current version applies (+1); a stale older change loses with server_wins and the server state', async () => {
      const f = await familyWithTask('t1', { title: 'A' }, at('10:00:00'));
      const ok = await sync(f.token(), {
        device_id: 'a',
        changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'B' }, client_timestamp: at('13:00:00') })],
      });
      // Based on the current state: no data in the entry.
      expect(ok.applied).toEqual([{ entity_type: 'task', entity_id: 't1', version: 2 }]);

      const stale = await sync(f.token(), {
        device_id: 'b',
        changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'C' }, client_timestamp: at('12:00:00') })],
      });
      expect(stale).toMatchObject({ success: false, applied: [], applied_count: 0, errors: [] });
      expect(stale.conflicts).toEqual([
        {
          entity_type: 'task',
          entity_id: 't1',
          conflict_reason: 'Version mismatch',
          resolution: 'server_wins',
          client_version: 1,
          server_version: 2,
          server_data: { ...TASK_DEFAULTS, title: 'B' },
          rejected_fields: ['title'],
        },
      ]);
      expect(await stateOf(f, 'task', 't1')).toMatchObject({ version: 2, data: { title: 'B' } });
    });

    it('a version ahead of the server is a mismatch too, and a tie in time goes to the server', async () => {
      const f = await familyWithTask('t1', { title: 'A' }, at('10:00:00'));
      const ahead = await sync(f.token(), {
        changes: [task({ entity_id: 't1', action: 'update', version: 7, data: { title: 'Z' }, client_timestamp: at('10:00:00') })],
      });
      expect(ahead.conflicts).toEqual([
        expect.objectContaining({
          resolution: 'server_wins',
          conflict_reason: 'Version mismatch',
          client_version: 7,
          server_version: 1,
          rejected_fields: ['title'],
        }),
      ]);
      expect(await stateOf(f, 'task', 't1')).toMatchObject({ version: 1, data: { title: 'A' } });
    });
  });

  describe('last writer wins per field (rule 4)', () => {
    it('events: an older field loses, a newer one wins (applied with data), mixed ones merge, a tie goes to the server', async () => {
      const f = await createFamily(t);
      const created = await sync(f.token(), {
        changes: [event({ entity_id: 'e1', data: { title: 'Party', start: '2025-12-01T18:00:00Z' }, client_timestamp: at('10:00:00') })],
      });
      expect(created.applied).toEqual([expect.objectContaining({ entity_type: 'event', entity_id: 'e1', version: 1 })]);

      const older = await sync(f.token(), {
        device_id: 'b',
        changes: [event({ entity_id: 'e1', action: 'update', data: { title: 'Old' }, client_timestamp: at('09:00:00') })],
      });
      expect(older).toMatchObject({ success: false, applied: [], applied_count: 0 });
      expect(older.conflicts).toEqual([
        expect.objectContaining({
          entity_type: 'event',
          entity_id: 'e1',
          resolution: 'server_wins',
          server_version: 1,
          rejected_fields: ['title'],
          server_data: expect.objectContaining({ title: 'Party' }),
        }),
      ]);

      const newer = await sync(f.token(), {
        device_id: 'b',
        changes: [event({ entity_id: 'e1', action: 'update', data: { title: 'New' }, client_timestamp: at('11:00:00') })],
      });
      const afterNewer = { title: 'New', start: '2025-12-01T18:00:00Z', description: null, end: null, attendees: [] };
      expect(newer).toMatchObject({ success: true, conflicts: [] });
      expect(newer.applied).toEqual([{ entity_type: 'event', entity_id: 'e1', version: 2, data: afterNewer }]);

      // Device A writes the description at 12:00; device B (11:30) sends title + description.
      await sync(f.token(), {
        device_id: 'a',
        changes: [event({ entity_id: 'e1', action: 'update', data: { description: 'Bring cake' }, client_timestamp: at('12:00:00') })],
      });
      const mixed = await sync(f.token(), {
        device_id: 'b',
        changes: [
          event({ entity_id: 'e1', action: 'update', data: { title: 'Mixed', description: 'No cake' }, client_timestamp: at('11:30:00') }),
        ],
      });
      const afterMixed = { ...afterNewer, title: 'Mixed', description: 'Bring cake' };
      expect(mixed.success).toBe(false);
      expect(mixed.conflicts).toEqual([
        expect.objectContaining({
          entity_type: 'event',
          entity_id: 'e1',
          resolution: 'merged',
          server_version: 4,
          server_data: afterMixed,
          rejected_fields: ['description'],
        }),
      ]);
      expect(mixed.applied).toEqual([{ entity_type: 'event', entity_id: 'e1', version: 4, data: afterMixed }]);
      expect(mixed.applied_count).toBe(1);

      // The title was last written at 11:30: the same time again is a tie, the server keeps it.
      const tie = await sync(f.token(), {
        device_id: 'c',
        changes: [event({ entity_id: 'e1', action: 'update', data: { title: 'Tie' }, client_timestamp: at('11:30:00') })],
      });
      expect(tie.conflicts).toEqual([
        expect.objectContaining({ resolution: 'server_wins', rejected_fields: ['title'], server_version: 4 }),
      ]);
      expect(await stateOf(f, 'event', 'e1')).toMatchObject({ version: 4, data: afterMixed });
    });

    it('tasks on a stale version: the newer field wins, the older loses, merged with rejected_fields', async () => {
      const f = await familyWithTask('t1', { title: 'A', desc: 'd0' }, at('10:00:00'));
      await sync(f.token(), {
        device_id: 'a',
        changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'A2' }, client_timestamp: at('12:00:00') })],
      });
      const merged = await sync(f.token(), {
        device_id: 'b',
        changes: [
          task({
            entity_id: 't1',
            action: 'update',
            version: 1,
            data: { title: 'B', desc: 'd1', points: 3 },
            client_timestamp: at('11:00:00'),
          }),
        ],
      });
      const expected = { ...TASK_DEFAULTS, title: 'A2', desc: 'd1', points: 3 };
      expect(merged).toMatchObject({ success: false, errors: [], applied_count: 1 });
      expect(merged.conflicts).toEqual([
        {
          entity_type: 'task',
          entity_id: 't1',
          conflict_reason: 'Version mismatch',
          resolution: 'merged',
          client_version: 1,
          server_version: 3,
          server_data: expected,
          rejected_fields: ['title'],
        },
      ]);
      expect(merged.applied).toEqual([{ entity_type: 'task', entity_id: 't1', version: 3, data: expected }]);

      // Stale again, but every field newer: fully applied (not a conflict), with data.
      const won = await sync(f.token(), {
        device_id: 'b',
        changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'C' }, client_timestamp: at('13:00:00') })],
      });
      expect(won).toMatchObject({ success: true, conflicts: [] });
      expect(won.applied).toEqual([{ entity_type: 'task', entity_id: 't1', version: 4, data: { ...expected, title: 'C' } }]);
      expect(await stateOf(f, 'task', 't1')).toMatchObject({ version: 4, data: { ...expected, title: 'C' } });
    });
  });

  describe('batch rollback (atomic: true)', () => {
    it('one invalid change rolls the whole batch back; nothing is stored', async () => {
      const f = await familyWithTask('t0', { title: 'Existing' });
      const before = await pull(f.token(), 'other');
      const b = await sync(f.token(), {
        device_id: 'phone',
        atomic: true,
        last_sync_at: before.last_sync_at,
        changes: [
          task({ entity_id: 'n1', data: { title: 'New 1' } }),
          task({ entity_id: 't0', action: 'update', version: 1, data: { title: 'Changed' } }),
          task({ entity_id: 'bad', data: { title: '' } }),
          task({ entity_id: 'n2', data: { title: 'New 2' } }),
        ],
      });
      expect(b).toMatchObject({ success: false, applied: [], applied_count: 0, conflicts: [], error_count: 1, server_changes: [] });
      expect(b.errors).toEqual([
        { index: 2, entity_type: 'task', entity_id: 'bad', code: 'validation', message: expect.stringContaining('title') },
      ]);

      const after = await pull(f.token(), 'other', before.last_sync_at);
      expect(after.changes).toEqual([]);
      expect(await stateOf(f, 'task', 't0')).toMatchObject({ version: 1, data: { title: 'Existing' } });
      for (const id of ['n1', 'bad', 'n2']) expect(await row('tasks', f.familyId, id)).toBeUndefined();

      // The same changes again without the bad one are applied (nothing was consumed by the rollback).
      const retry = await sync(f.token(), {
        device_id: 'phone',
        atomic: true,
        changes: [
          task({ entity_id: 'n1', data: { title: 'New 1' } }),
          task({ entity_id: 't0', action: 'update', version: 1, data: { title: 'Changed' } }),
        ],
      });
      expect(retry).toMatchObject({ success: true, applied_count: 2 });
      expect(retry.applied).toEqual([
        { entity_type: 'task', entity_id: 'n1', version: 1 },
        { entity_type: 'task', entity_id: 't0', version: 2 },
      ]);
    });

    it('a conflict rolls the batch back; the conflict shows the server state as it is', async () => {
      const f = await familyWithTask('t0', { title: 'Server' }, at('10:00:00'));
      await sync(f.token(), {
        device_id: 'a',
        changes: [task({ entity_id: 't0', action: 'update', version: 1, data: { title: 'Server 2' }, client_timestamp: at('12:00:00') })],
      });
      const before = await pull(f.token(), 'other');
      const b = await sync(f.token(), {
        device_id: 'b',
        atomic: true,
        changes: [
          task({ entity_id: 'n1', data: { title: 'New' } }),
          event({ entity_id: 'e1', data: { title: 'E', start: at('20:00:00') } }),
          task({ entity_id: 't0', action: 'update', version: 1, data: { title: 'Client' }, client_timestamp: at('11:00:00') }),
        ],
      });
      expect(b).toMatchObject({ success: false, applied: [], applied_count: 0, errors: [], error_count: 0 });
      expect(b.conflicts).toEqual([
        expect.objectContaining({
          entity_type: 'task',
          entity_id: 't0',
          resolution: 'server_wins',
          conflict_reason: 'Version mismatch',
          client_version: 1,
          server_version: 2,
          server_data: { ...TASK_DEFAULTS, title: 'Server 2' },
        }),
      ]);
      expect((await pull(f.token(), 'other', before.last_sync_at)).changes).toEqual([]);
      expect(await row('tasks', f.familyId, 'n1')).toBeUndefined();
      expect(await row('events', f.familyId, 'e1')).toBeUndefined();
    });

    it('a merged change counts as a conflict: the batch rolls back', async () => {
      const f = await familyWithTask('t0', { title: 'A', desc: 'd' }, at('10:00:00'));
      await sync(f.token(), {
        device_id: 'a',
        changes: [task({ entity_id: 't0', action: 'update', version: 1, data: { title: 'A2' }, client_timestamp: at('12:00:00') })],
      });
      const b = await sync(f.token(), {
        device_id: 'b',
        atomic: true,
        changes: [
          task({ entity_id: 'n1', data: { title: 'New' } }),
          task({ entity_id: 't0', action: 'update', version: 1, data: { title: 'B', desc: 'd2' }, client_timestamp: at('11:00:00') }),
        ],
      });
      expect(b).toMatchObject({ success: false, applied: [], applied_count: 0 });
      expect(b.conflicts).toEqual([
        expect.objectContaining({ entity_id: 't0', resolution: 'merged', rejected_fields: ['title'], server_version: 2 }),
      ]);
      expect(await row('tasks', f.familyId, 'n1')).toBeUndefined();
      expect(await stateOf(f, 'task', 't0')).toMatchObject({ version: 2, data: { title: 'A2', desc: 'd' } });
    });

    it('without atomic the same batch applies the good changes', async () => {
      const f = await createFamily(t);
      const b = await sync(f.token(), {
        changes: [task({ entity_id: 'n1', data: { title: 'New 1' } }), task({ entity_id: 'bad', data: { title: '' } })],
      });
      expect(b).toMatchObject({
        success: false,
        applied_count: 1,
        error_count: 1,
        applied: [{ entity_type: 'task', entity_id: 'n1', version: 1 }],
      });
      expect(await row('tasks', f.familyId, 'n1')).toMatchObject({ version: 1 });
    });
  });

  describe('empty changes', () => {
    it('changes: [] and omitted changes are pulls: 200, nothing applied, the other devices changes returned', async () => {
      const f = await createFamily(t);
      const emptyFamily = await sync(f.token(), { device_id: 'd1', changes: [] });
      expect(emptyFamily).toEqual({
        server_changes: [],
        conflicts: [],
        errors: [],
        applied: [],
        last_sync_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/),
        has_more: false,
        resync_required: false,
        success: true,
        applied_count: 0,
        error_count: 0,
      });
      await sync(f.token(), { device_id: 'd2', changes: [task({ entity_id: 't1', data: { title: 'T' } })] });
      for (const body of [{ changes: [] }, {}]) {
        const b = await sync(f.token(), { device_id: 'd1', last_sync_at: emptyFamily.last_sync_at, ...body });
        expect(b).toMatchObject({
          success: true,
          applied: [],
          conflicts: [],
          errors: [],
          applied_count: 0,
          error_count: 0,
          has_more: false,
          resync_required: false,
        });
        expect(b.server_changes).toEqual([expect.objectContaining({ entity_type: 'task', entity_id: 't1', action: 'create', version: 1 })]);
      }
    });
  });

  describe('concurrent users', () => {
    it('two users of one family sync in parallel: both applied, each sees the others change exactly once', async () => {
      const f = await createFamily(t, 'alice');
      const bob = await f.addMember('bob');
      const alice = f.token('alice');
      const seedRes = await sync(alice, {
        device_id: 'alice-phone',
        changes: [task({ entity_id: 'shared', data: { title: 'Shared' }, client_timestamp: at('10:00:00') })],
      });
      const aliceStart = seedRes.last_sync_at;
      const bobStart = (await pull(bob, 'bob-phone')).last_sync_at;

      for (let round = 0; round < 5; round++) {
        const [a, b] = await Promise.all([
          sync(alice, {
            device_id: 'alice-phone',
            changes: [task({ entity_id: `alice-${round}`, data: { title: `A${round}` } })],
          }),
          sync(bob, {
            device_id: 'bob-phone',
            changes: [event({ entity_id: `bob-${round}`, data: { title: `B${round}`, start: at('20:00:00') } })],
          }),
        ]);
        expect(a).toMatchObject({ success: true, applied: [{ entity_type: 'task', entity_id: `alice-${round}`, version: 1 }] });
        expect(b).toMatchObject({
          success: true,
          applied: [expect.objectContaining({ entity_type: 'event', entity_id: `bob-${round}`, version: 1 })],
        });
      }
      // Each device, from its starting watermark, sees every change of the other user exactly once.
      const aliceSees = (await pull(alice, 'alice-phone', aliceStart)).changes.map((c) => c.entity_id);
      const bobSees = (await pull(bob, 'bob-phone', bobStart)).changes.map((c) => c.entity_id);
      for (let round = 0; round < 5; round++) {
        expect(aliceSees.filter((id) => id === `bob-${round}`)).toHaveLength(1);
        expect(bobSees.filter((id) => id === `alice-${round}`)).toHaveLength(1);
      }
    });

    it('parallel pushes with echoed watermarks: each response plus the next pull gives the others changes exactly once', async () => {
      const f = await createFamily(t, 'carol');
      const dave = await f.addMember('dave');
      const carol = f.token('carol');
      let carolAt = (await pull(carol, 'carol-1')).last_sync_at;
      let daveAt = (await pull(dave, 'dave-1')).last_sync_at;
      const carolSaw: string[] = [];
      const daveSaw: string[] = [];
      for (let round = 0; round < 8; round++) {
        const [c, d] = await Promise.all([
          sync(carol, { device_id: 'carol-1', last_sync_at: carolAt, changes: [task({ entity_id: `c${round}`, data: { title: 'c' } })] }),
          sync(dave, { device_id: 'dave-1', last_sync_at: daveAt, changes: [task({ entity_id: `d${round}`, data: { title: 'd' } })] }),
        ]);
        carolSaw.push(...c.server_changes.map((s) => s.entity_id));
        daveSaw.push(...d.server_changes.map((s) => s.entity_id));
        carolAt = c.last_sync_at;
        daveAt = d.last_sync_at;
      }
      const lastC = await pull(carol, 'carol-1', carolAt);
      const lastD = await pull(dave, 'dave-1', daveAt);
      carolSaw.push(...lastC.changes.map((s) => s.entity_id));
      daveSaw.push(...lastD.changes.map((s) => s.entity_id));
      expect([...carolSaw].sort()).toEqual(Array.from({ length: 8 }, (_, i) => `d${i}`).sort());
      expect([...daveSaw].sort()).toEqual(Array.from({ length: 8 }, (_, i) => `c${i}`).sort());
    });

    it('two users update different fields of one task with the same version in parallel: both applied', async () => {
      const f = await createFamily(t, 'erin');
      const frank = await f.addMember('frank');
      const erin = f.token('erin');
      await sync(erin, {
        device_id: 'e',
        changes: [task({ entity_id: 't1', data: { title: 'T', desc: 'D' }, client_timestamp: at('10:00:00') })],
      });
      const [a, b] = await Promise.all([
        sync(erin, {
          device_id: 'e',
          changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'Erin' }, client_timestamp: at('11:00:00') })],
        }),
        sync(frank, {
          device_id: 'f',
          changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { desc: 'Frank' }, client_timestamp: at('11:00:01') })],
        }),
      ]);
      expect(a).toMatchObject({ success: true, conflicts: [] });
      expect(b).toMatchObject({ success: true, conflicts: [] });
      expect([a.applied[0].version, b.applied[0].version].sort()).toEqual([2, 3]);
      expect(await stateOf(f, 'task', 't1')).toMatchObject({ version: 3, data: { title: 'Erin', desc: 'Frank' } });
    });
  });

  describe('per-change errors (PROTOCOL 2.2)', () => {
    it('validation and unknown_entity_type errors do not abort the other changes', async () => {
      const f = await createFamily(t);
      const b = await sync(f.token(), {
        changes: [
          task({ entity_id: 'ok1', data: { title: 'Fine' } }),
          task({ entity_id: 'v1', data: { desc: 'no title' } }),
          change({ entity_type: 'widget', entity_id: 'w1', data: { any: 1 } }),
          task({ entity_id: 'v2', data: { title: 'T', color: 'red' } }),
          task({ entity_id: 'v3', data: { title: 'T', points: -1 } }),
          task({ entity_id: 'v4', data: { title: 'T', status: 'archived' } }),
          event({ entity_id: 'v5', data: { title: 'E', start: '2025-12-01T10:00:00Z', end: '2025-12-01T09:00:00Z' } }),
          event({ entity_id: 'v6', data: { title: 'E', start: 'tomorrow' } }),
          task({ entity_id: 'ok2', data: { title: 'Also fine' } }),
        ],
      });
      expect(b).toMatchObject({ success: false, applied_count: 2, error_count: 7, conflicts: [] });
      expect(b.applied).toEqual([
        { entity_type: 'task', entity_id: 'ok1', version: 1 },
        { entity_type: 'task', entity_id: 'ok2', version: 1 },
      ]);
      const err = (index: number, entity_type: string, entity_id: string, code: string, field: string) => ({
        index,
        entity_type,
        entity_id,
        code,
        message: expect.stringContaining(field),
      });
      expect(b.errors).toEqual([
        err(1, 'task', 'v1', 'validation', 'title'),
        err(2, 'widget', 'w1', 'unknown_entity_type', 'widget'),
        err(3, 'task', 'v2', 'validation', 'color'),
        err(4, 'task', 'v3', 'validation', 'points'),
        err(5, 'task', 'v4', 'validation', 'status'),
        err(6, 'event', 'v5', 'validation', 'end'),
        err(7, 'event', 'v6', 'validation', 'start'),
      ]);
      const all = await pull(f.token(), 'other');
      expect(all.changes.map((c) => c.entity_id).sort()).toEqual(['ok1', 'ok2']);
    });

    it('an invalid update patch is a validation error and leaves the entity unchanged', async () => {
      const f = await familyWithTask('t1', { title: 'T' });
      const b = await sync(f.token(), {
        changes: [
          task({ entity_id: 't1', action: 'update', version: 1, data: { title: '' } }),
          task({ entity_id: 't1', action: 'update', version: 1, data: { assignees: 'bob' } }),
          task({ entity_id: 't1', action: 'update', version: 1, data: { points: 100001 } }),
        ],
      });
      expect(b.errors.map((e) => [e.index, e.code])).toEqual([
        [0, 'validation'],
        [1, 'validation'],
        [2, 'validation'],
      ]);
      expect(b.errors[1].message).toContain('assignees');
      expect(b.errors[2].message).toContain('points');
      expect(await stateOf(f, 'task', 't1')).toMatchObject({ version: 1, data: { title: 'T' } });
    });

    it('update of an unknown id -> not_found; delete of an unknown id -> applied with version 0', async () => {
      const f = await createFamily(t);
      const b = await sync(f.token(), {
        changes: [
          task({ entity_id: 'ghost', action: 'update', version: 1, data: { title: 'X' } }),
          event({ entity_id: 'ghost-e', action: 'update', data: { title: 'X' } }),
          task({ entity_id: 'ghost2', action: 'delete', version: 3 }),
          event({ entity_id: 'ghost-e2', action: 'delete' }),
        ],
      });
      expect(b.errors).toEqual([
        { index: 0, entity_type: 'task', entity_id: 'ghost', code: 'not_found', message: expect.any(String) },
        { index: 1, entity_type: 'event', entity_id: 'ghost-e', code: 'not_found', message: expect.any(String) },
      ]);
      expect(b.applied.map(({ entity_type, entity_id, version }) => ({ entity_type, entity_id, version }))).toEqual([
        { entity_type: 'task', entity_id: 'ghost2', version: 0 },
        { entity_type: 'event', entity_id: 'ghost-e2', version: 0 },
      ]);
      expect(b).toMatchObject({ applied_count: 2, error_count: 2, success: false, conflicts: [] });
      expect(await row('tasks', f.familyId, 'ghost')).toBeUndefined();
      expect(await row('tasks', f.familyId, 'ghost2')).toBeUndefined();
      expect((await pull(f.token(), 'other', '2000-01-01T00:00:00Z')).changes).toEqual([]);
    });

    it('create of an existing id is handled as an update with the given version (a partial patch)', async () => {
      const f = await familyWithTask('t1', { title: 'A', desc: 'keep', points: 5, assignees: ['bob'] }, at('10:00:00'));
      const same = await sync(f.token(), {
        device_id: 'd1',
        changes: [task({ entity_id: 't1', action: 'create', version: 1, data: { title: 'B' }, client_timestamp: at('11:00:00') })],
      });
      expect(same).toMatchObject({ success: true, conflicts: [], applied: [{ entity_type: 'task', entity_id: 't1', version: 2 }] });
      expect(await stateOf(f, 'task', 't1')).toMatchObject({
        version: 2,
        data: { ...TASK_DEFAULTS, title: 'B', desc: 'keep', points: 5, assignees: ['bob'] },
      });

      const stale = await sync(f.token(), {
        device_id: 'd2',
        changes: [task({ entity_id: 't1', action: 'create', version: 1, data: { title: 'C' }, client_timestamp: at('10:30:00') })],
      });
      expect(stale.conflicts).toEqual([
        expect.objectContaining({
          entity_id: 't1',
          resolution: 'server_wins',
          conflict_reason: 'Version mismatch',
          client_version: 1,
          server_version: 2,
          rejected_fields: ['title'],
        }),
      ]);
      expect(await stateOf(f, 'task', 't1')).toMatchObject({ version: 2, data: { title: 'B', desc: 'keep' } });
    });

    it('changes are applied in array order, each seeing the effect of the ones before', async () => {
      const f = await createFamily(t);
      const b = await sync(f.token(), {
        changes: [
          task({ entity_id: 't1', data: { title: 'v1' } }),
          task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'v2' } }),
          task({ entity_id: 't1', action: 'update', version: 2, data: { status: 'in_progress' } }),
          task({ entity_id: 't1', action: 'delete', version: 3 }),
          task({ entity_id: 't1', action: 'update', version: 4, data: { title: 'too late' } }),
        ],
      });
      expect(b.applied.map((a) => a.version)).toEqual([1, 2, 3, 4]);
      expect(b.conflicts).toEqual([
        expect.objectContaining({ entity_id: 't1', resolution: 'delete_wins', server_data: null, server_version: 4 }),
      ]);
      expect(await row('tasks', f.familyId, 't1')).toMatchObject({ version: 4, data: null, deleted_us: expect.any(String) });
    });
  });
});
