import request from 'supertest';
import { DataSource } from 'typeorm';
import { bearer, mintToken } from '@app/testing';
import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { startTestApp, TestApp } from '../support/test-app';
import { change, ChangeInput, createFamily, delta, FamilyFixture, MICRO_ISO, syncOk } from '../support/sync-fixtures';
import type { ServerChangeDto as ServerChange, DeltaResponseDto as DeltaBody } from '../../apps/api/src/sync/dto/delta-response.dto';

/**
 * The POST /sync/delta protocol (PROTOCOL 2), over HTTP against a real PostgreSQL: the usage
 * examples of the original API document, malformed envelopes, the response's details,
 * pagination, the tombstone horizon and family isolation.
 */

const TASK_DEFAULTS = { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };
const EVENT_DEFAULTS = { description: null, end: null, attendees: [] };

describe('sync protocol (POST /sync/delta)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  const sync = (token: string, body: Record<string, unknown>) => syncOk(t, token, body);

  /** Every page a device pulls from `since`, until has_more is false (at most `maxPages`). */
  async function pages(token: string, device: string, since: string | null, limit?: number, maxPages = 20): Promise<DeltaBody[]> {
    const out: DeltaBody[] = [];
    let cursor = since;
    while (out.length < maxPages) {
      const b = await sync(token, { device_id: device, last_sync_at: cursor, ...(limit ? { limit } : {}) });
      out.push(b);
      cursor = b.last_sync_at;
      if (!b.has_more) return out;
    }
    throw new Error(
      `pull did not end after ${maxPages} pages: ${JSON.stringify(out.map((p) => p.server_changes.map((c) => c.entity_id)))}`,
    );
  }

  async function pull(
    token: string,
    device: string,
    since: string | null = null,
  ): Promise<{ changes: ServerChange[]; last_sync_at: string }> {
    const all = await pages(token, device, since);
    return { changes: all.flatMap((p) => p.server_changes), last_sync_at: all[all.length - 1].last_sync_at };
  }

  const ids = (changes: ServerChange[]) => changes.map((c) => c.entity_id);
  const task = (c: ChangeInput) => change({ entity_type: 'task', ...c });
  const event = (c: ChangeInput) => change({ entity_type: 'event', ...c });
  const db = () => t.app.get(DataSource);
  const countRows = async (table: string, familyId: string): Promise<number> =>
    Number((await db().query(`SELECT count(*) AS n FROM ${table} WHERE family_id = $1`, [familyId]))[0].n);

  describe('usage examples of the original API document', () => {
    it('Example 1: simple sync, three new tasks -> success, applied_count 3', async () => {
      const f = await createFamily(t);
      const res = await delta(t, f.token(), {
        last_sync_at: '2025-11-10T00:00:00Z',
        changes: [1, 2, 3].map((n) => ({
          entity_type: 'task',
          entity_id: `task-${n}`,
          action: 'create',
          data: { title: `Task ${n}`, status: 'open' },
          version: 1,
          client_timestamp: '2025-11-11T12:00:00Z',
        })),
        device_id: 'phone-123',
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        server_changes: [],
        conflicts: [],
        errors: [],
        applied: [1, 2, 3].map((n) => ({ entity_type: 'task', entity_id: `task-${n}`, version: 1 })),
        last_sync_at: expect.stringMatching(MICRO_ISO),
        has_more: false,
        // The new family has no position yet: a watermark of 2025-11-10 is later than anything
        // this database issued, so the device resyncs (PROTOCOL 2.13); its full state is just its own
        // three tasks, which it holds already.
        resync_required: true,
        success: true,
        applied_count: 3,
        error_count: 0,
      });
      const other = await pull(f.token(), 'tablet', '2025-11-10T00:00:00Z');
      expect(other.changes).toEqual(
        [1, 2, 3].map((n) => ({
          entity_type: 'task',
          entity_id: `task-${n}`,
          action: 'create',
          data: { ...TASK_DEFAULTS, title: `Task ${n}` },
          version: 1,
          client_timestamp: '2025-11-11T12:00:00.000000Z',
          server_timestamp: expect.stringMatching(MICRO_ISO),
        })),
      );
    });

    it('Example 2: update with version 2 while the server is at 4 -> conflict server_wins, Version mismatch', async () => {
      const f = await createFamily(t);
      const web = (c: ChangeInput) => sync(f.token(), { device_id: 'web', changes: [task(c)] });
      await web({ entity_id: 'task-1', data: { title: 'Task 1' }, client_timestamp: '2025-11-10T09:00:00Z' });
      await web({ entity_id: 'task-1', action: 'update', version: 1, data: { desc: 'details' }, client_timestamp: '2025-11-11T10:00:00Z' });
      await web({
        entity_id: 'task-1',
        action: 'update',
        version: 2,
        data: { status: 'in_progress' },
        client_timestamp: '2025-11-11T11:00:00Z',
      });
      await web({
        entity_id: 'task-1',
        action: 'update',
        version: 3,
        data: { title: 'Server Title' },
        client_timestamp: '2025-11-11T13:00:00Z',
      });

      const res = await delta(t, f.token(), {
        last_sync_at: '2025-11-10T00:00:00Z',
        changes: [
          {
            entity_type: 'task',
            entity_id: 'task-1',
            action: 'update',
            data: { title: 'New Title' },
            version: 2,
            client_timestamp: '2025-11-11T12:00:00Z',
          },
        ],
        device_id: 'phone-123',
      });
      expect(res.status).toBe(200);
      const serverData = { ...TASK_DEFAULTS, title: 'Server Title', desc: 'details', status: 'in_progress' };
      expect(res.body).toMatchObject({ success: false, applied: [], applied_count: 0, errors: [], error_count: 0, resync_required: false });
      expect(res.body.conflicts).toEqual([
        {
          entity_type: 'task',
          entity_id: 'task-1',
          conflict_reason: 'Version mismatch',
          resolution: 'server_wins',
          client_version: 2,
          server_version: 4,
          server_data: serverData,
          rejected_fields: ['title'],
        },
      ]);
      // The device missed the other device's writes: they come back, then the inbox entry of
      // its lost change (PROTOCOL 2.8).
      expect(res.body.server_changes).toEqual([
        expect.objectContaining({ entity_type: 'task', entity_id: 'task-1', action: 'create', version: 4, data: serverData }),
        expect.objectContaining({
          entity_type: 'conflict',
          action: 'create',
          version: 1,
          data: expect.objectContaining({
            entityType: 'task',
            entityId: 'task-1',
            resolution: 'server_wins',
            rejected: { title: 'New Title' },
            server: { title: 'Server Title' },
          }),
        }),
      ]);
    });

    it('Example 3: done on version 2 while the server is at 3 (title changed) -> success, done applied, title kept', async () => {
      const f = await createFamily(t);
      const web = (c: ChangeInput) => sync(f.token(), { device_id: 'web', changes: [task(c)] });
      await web({ entity_id: 'task-1', data: { title: 'Task 1' }, client_timestamp: '2025-11-10T09:00:00Z' });
      await web({ entity_id: 'task-1', action: 'update', version: 1, data: { points: 10 }, client_timestamp: '2025-11-11T09:00:00Z' });
      await web({
        entity_id: 'task-1',
        action: 'update',
        version: 2,
        data: { title: 'Title from web' },
        client_timestamp: '2025-11-11T15:00:00Z',
      });

      const res = await delta(t, f.token(), {
        last_sync_at: '2025-11-10T00:00:00Z',
        changes: [
          {
            entity_type: 'task',
            entity_id: 'task-1',
            action: 'update',
            data: { status: 'done', completedAt: '2025-11-11T14:30:00Z' },
            version: 2,
            client_timestamp: '2025-11-11T14:30:00Z',
          },
        ],
        device_id: 'phone-123',
      });
      expect(res.status).toBe(200);
      const finalData = { ...TASK_DEFAULTS, title: 'Title from web', points: 10, status: 'done', completedAt: '2025-11-11T14:30:00Z' };
      expect(res.body).toMatchObject({ success: true, conflicts: [], errors: [], applied_count: 1, error_count: 0 });
      expect(res.body.applied).toEqual([{ entity_type: 'task', entity_id: 'task-1', version: 4, data: finalData }]);
      const tasks = (res.body.server_changes as ServerChange[]).filter((c) => c.entity_type === 'task');
      expect(tasks).toEqual([expect.objectContaining({ entity_id: 'task-1', version: 4, data: finalData })]);
      const other = (await pull(f.token(), 'web')).changes.filter((c) => c.entity_type === 'task');
      expect(other).toEqual([expect.objectContaining({ entity_id: 'task-1', version: 4, data: finalData })]);
    });
  });

  describe('malformed requests -> 400 naming the field, nothing applied', () => {
    let f: FamilyFixture;
    beforeAll(async () => {
      f = await createFamily(t);
    });

    let n = 0;
    /** A valid change with a unique id: it must not be stored when the request is refused. */
    const good = () => task({ entity_id: `good-${++n}`, data: { title: 'Should not be stored' } });
    const tooMany = () => Array.from({ length: 501 }, (_, i) => task({ entity_id: `many-${i}`, data: { title: `T${i}` } }));

    const cases: [string, () => Record<string, unknown>, string][] = [
      ['missing device_id', () => ({ device_id: undefined, changes: [good()] }), 'device_id'],
      ['empty device_id', () => ({ device_id: '', changes: [good()] }), 'device_id'],
      ['device_id of 129 characters', () => ({ device_id: 'd'.repeat(129), changes: [good()] }), 'device_id'],
      ['device_id not a string', () => ({ device_id: 42, changes: [good()] }), 'device_id'],
      ['unknown action', () => ({ changes: [good(), { ...good(), action: 'upsert' }] }), 'changes.1.action'],
      ['empty entity_id', () => ({ changes: [good(), { ...good(), entity_id: '' }] }), 'changes.1.entity_id'],
      ['entity_id of 129 characters', () => ({ changes: [good(), { ...good(), entity_id: 'x'.repeat(129) }] }), 'changes.1.entity_id'],
      ['missing entity_type', () => ({ changes: [good(), { ...good(), entity_type: undefined }] }), 'changes.1.entity_type'],
      [
        'client_timestamp without a zone',
        () => ({ changes: [good(), { ...good(), client_timestamp: '2025-11-11T12:00:00' }] }),
        'changes.1.client_timestamp',
      ],
      [
        'client_timestamp not a date',
        () => ({ changes: [good(), { ...good(), client_timestamp: 'yesterday' }] }),
        'changes.1.client_timestamp',
      ],
      ['missing client_timestamp', () => ({ changes: [good(), { ...good(), client_timestamp: undefined }] }), 'changes.1.client_timestamp'],
      ['data a string', () => ({ changes: [good(), { ...good(), data: 'title=x' }] }), 'changes.1.data'],
      ['data an array', () => ({ changes: [good(), { ...good(), data: [{ title: 'x' }] }] }), 'changes.1.data'],
      ['data missing on create', () => ({ changes: [good(), { ...good(), data: undefined }] }), 'changes.1.data'],
      ['negative version', () => ({ changes: [good(), { ...good(), version: -1 }] }), 'changes.1.version'],
      ['fractional version', () => ({ changes: [good(), { ...good(), version: 1.5 }] }), 'changes.1.version'],
      ['empty change_id', () => ({ changes: [good(), { ...good(), change_id: '' }] }), 'changes.1.change_id'],
      ['unknown field in a change', () => ({ changes: [good(), { ...good(), priority: 1 }] }), 'priority'],
      ['changes an object', () => ({ changes: { 0: good() } }), 'changes'],
      ['changes a string', () => ({ changes: 'none' }), 'changes'],
      ['a change that is not an object', () => ({ changes: [good(), 'x'] }), 'changes'],
      ['501 changes', () => ({ changes: tooMany() }), 'changes'],
      [
        'task update without version',
        () => ({ changes: [good(), task({ entity_id: 'x', action: 'update', data: { title: 'y' } })] }),
        'changes.1.version',
      ],
      ['task delete without version', () => ({ changes: [good(), task({ entity_id: 'x', action: 'delete' })] }), 'changes.1.version'],
      ['limit 0', () => ({ limit: 0, changes: [good()] }), 'limit'],
      ['limit 5001', () => ({ limit: 5001, changes: [good()] }), 'limit'],
      ['limit not an integer', () => ({ limit: 2.5, changes: [good()] }), 'limit'],
      ['atomic not a boolean', () => ({ atomic: 'yes', changes: [good()] }), 'atomic'],
      ['unknown top-level field', () => ({ since: '2025-01-01T00:00:00Z', changes: [good()] }), 'since'],
      ['last_sync_at garbage', () => ({ last_sync_at: 'last tuesday', changes: [good()] }), 'last_sync_at'],
      ['last_sync_at a number', () => ({ last_sync_at: 1731337200000, changes: [good()] }), 'last_sync_at'],
      ['last_sync_at an impossible date', () => ({ last_sync_at: '2025-13-45T00:00:00Z', changes: [good()] }), 'last_sync_at'],
    ];

    it.each(cases)('%s', async (_name, body, field) => {
      const res = await delta(t, f.token(), body());
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: expect.any(String), message: expect.stringContaining(field) });
      expect(await countRows('tasks', f.familyId)).toBe(0);
    });

    it('bad JSON -> 400', async () => {
      const res = await request(t.server)
        .post('/sync/delta')
        .set(bearer(f.token()))
        .set('Content-Type', 'application/json')
        .send('{"device_id": "d1", "changes": [');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400 });
    });

    it('after all of these, a pull from another device shows nothing stored', async () => {
      const all = await pull(f.token(), 'inspector');
      expect(all.changes).toEqual([]);
      expect(await countRows('tasks', f.familyId)).toBe(0);
      expect(Number((await db().query('SELECT count(*) AS n FROM sync_receipts WHERE family_id = $1', [f.familyId]))[0].n)).toBe(0);
    });

    it('the limits themselves are accepted: device_id of 128, 500 changes, limit 1 and 5000', async () => {
      const g = await createFamily(t);
      const batch = Array.from({ length: 500 }, (_, i) => task({ entity_id: `b-${i}`, data: { title: `T${i}` } }));
      const b = await sync(g.token(), { device_id: 'd'.repeat(128), changes: batch, limit: 5000 });
      expect(b).toMatchObject({ success: true, applied_count: 500 });
      const one = await sync(g.token(), { device_id: 'x', limit: 1 });
      expect(one.server_changes).toHaveLength(1);
      expect(one.has_more).toBe(true);
      const lastSyncNull = await sync(g.token(), { device_id: 'x', last_sync_at: null, limit: 5000 });
      expect(lastSyncNull.server_changes).toHaveLength(500);
    });
  });

  describe('response details', () => {
    it('applied carries data only when the change was not based on the server state', async () => {
      const f = await createFamily(t);
      const first = await sync(f.token(), {
        changes: [
          task({ entity_id: 't1', data: { title: 'A' }, client_timestamp: '2025-11-11T10:00:00Z' }),
          task({ entity_id: 't2', data: { title: 'B' } }),
          task({ entity_id: 't3', data: { title: 'C' } }),
        ],
      });
      // Creates of new ids: no data.
      for (const a of first.applied) expect(a).not.toHaveProperty('data');

      const current = await sync(f.token(), {
        changes: [
          task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'A2' }, client_timestamp: '2025-11-11T11:00:00Z' }),
          task({ entity_id: 't2', action: 'delete', version: 1 }),
          task({ entity_id: 'never', action: 'delete', version: 0 }),
        ],
      });
      expect(current.applied).toEqual([
        { entity_type: 'task', entity_id: 't1', version: 2 },
        { entity_type: 'task', entity_id: 't2', version: 2 },
        { entity_type: 'task', entity_id: 'never', version: 0 },
      ]);

      // A stale task version that wins every field: applied, with the full state.
      const stale = await sync(f.token(), {
        device_id: 'other',
        changes: [
          task({ entity_id: 't1', action: 'update', version: 1, data: { desc: 'from other' }, client_timestamp: '2025-11-11T12:00:00Z' }),
        ],
      });
      expect(stale.conflicts).toEqual([]);
      expect(stale.applied).toEqual([
        { entity_type: 'task', entity_id: 't1', version: 3, data: { ...TASK_DEFAULTS, title: 'A2', desc: 'from other' } },
      ]);

      // Every event change carries the event's state after the request.
      const ev = await sync(f.token(), {
        changes: [
          event({ entity_id: 'e1', data: { title: 'E', start: '2025-12-01T10:00:00Z' }, client_timestamp: '2025-11-11T10:00:00Z' }),
          event({ entity_id: 'e2', data: { title: 'F', start: '2025-12-02T10:00:00Z' } }),
        ],
      });
      expect(ev.applied).toEqual([
        { entity_type: 'event', entity_id: 'e1', version: 1, data: { ...EVENT_DEFAULTS, title: 'E', start: '2025-12-01T10:00:00Z' } },
        { entity_type: 'event', entity_id: 'e2', version: 1, data: { ...EVENT_DEFAULTS, title: 'F', start: '2025-12-02T10:00:00Z' } },
      ]);
      const ev2 = await sync(f.token(), {
        changes: [
          event({ entity_id: 'e1', action: 'update', data: { end: '2025-12-01T11:00:00Z' }, client_timestamp: '2025-11-11T11:00:00Z' }),
          event({ entity_id: 'e2', action: 'delete' }),
        ],
      });
      expect(ev2.applied).toEqual([
        {
          entity_type: 'event',
          entity_id: 'e1',
          version: 2,
          data: { ...EVENT_DEFAULTS, title: 'E', start: '2025-12-01T10:00:00Z', end: '2025-12-01T11:00:00Z' },
        },
        { entity_type: 'event', entity_id: 'e2', version: 2, data: null },
      ]);
    });

    it('server_changes: without this requests fully applied entities; with merged results and others changes', async () => {
      const f = await createFamily(t);
      const a = (body: Record<string, unknown>) => sync(f.token(), { device_id: 'A', ...body });
      const b = (body: Record<string, unknown>) => sync(f.token(), { device_id: 'B', ...body });
      await a({
        changes: [
          task({ entity_id: 'mine', data: { title: 'mine' }, client_timestamp: '2025-11-11T10:00:00Z' }),
          task({ entity_id: 'merged', data: { title: 'm', desc: 'd' }, client_timestamp: '2025-11-11T10:00:00Z' }),
          task({ entity_id: 'shared', data: { title: 's' }, client_timestamp: '2025-11-11T10:00:00Z' }),
          task({ entity_id: 'lost', data: { title: 'l' }, client_timestamp: '2025-11-11T10:00:00Z' }),
        ],
      });
      await a({
        changes: [
          task({ entity_id: 'merged', action: 'update', version: 1, data: { title: 'm-A' }, client_timestamp: '2025-11-11T12:00:00Z' }),
        ],
      });
      await a({
        changes: [
          task({ entity_id: 'lost', action: 'update', version: 1, data: { title: 'l-A' }, client_timestamp: '2025-11-11T12:00:00Z' }),
        ],
      });
      const w = (await pull(f.token(), 'B')).last_sync_at;
      // After B's watermark: A changes `shared` and creates `others`.
      await a({
        changes: [
          task({ entity_id: 'shared', action: 'update', version: 1, data: { desc: 'by A' }, client_timestamp: '2025-11-11T13:00:00Z' }),
          task({ entity_id: 'others', data: { title: 'o' } }),
        ],
      });
      const res = await b({
        last_sync_at: w,
        changes: [
          // Fully applied, nobody else touched it since w: not sent back.
          task({ entity_id: 'mine', action: 'update', version: 1, data: { title: 'mine-B' } }),
          task({ entity_id: 'new-b', data: { title: 'n' } }),
          // Stale (based on v1), title loses (12:00 > 11:00), desc wins: merged -> sent back.
          task({
            entity_id: 'merged',
            action: 'update',
            version: 1,
            data: { title: 'm-B', desc: 'd-B' },
            client_timestamp: '2025-11-11T11:00:00Z',
          }),
          // Fully applied, but A changed it after w: sent back with the result.
          task({ entity_id: 'shared', action: 'update', version: 2, data: { title: 's-B' }, client_timestamp: '2025-11-11T14:00:00Z' }),
          // Nothing applied, unchanged since w: not sent back (the conflict carries server_data).
          task({ entity_id: 'lost', action: 'update', version: 1, data: { title: 'l-B' }, client_timestamp: '2025-11-11T11:00:00Z' }),
        ],
      });
      expect(res.conflicts.map((c) => [c.entity_id, c.resolution])).toEqual([
        ['merged', 'merged'],
        ['lost', 'server_wins'],
      ]);
      const inbox = res.server_changes.filter((c) => c.entity_type === 'conflict');
      expect(inbox.map((c) => [c.data?.entityId, c.data?.resolution, c.data?.rejected])).toEqual([
        ['merged', 'merged', { title: 'm-B' }],
        ['lost', 'server_wins', { title: 'l-B' }],
      ]);
      const byId = Object.fromEntries(res.server_changes.filter((c) => c.entity_type !== 'conflict').map((c) => [c.entity_id, c]));
      expect(Object.keys(byId).sort()).toEqual(['merged', 'others', 'shared']);
      expect(byId.merged).toMatchObject({ action: 'update', version: 3, data: { title: 'm-A', desc: 'd-B' } });
      expect(byId.shared).toMatchObject({ action: 'update', version: 3, data: { title: 's-B', desc: 'by A' } });
      expect(byId.others).toMatchObject({ action: 'create', version: 1, data: { title: 'o' } });
      // Commit order, and all after w.
      const stamps = res.server_changes.map((c) => c.server_timestamp);
      expect([...stamps].sort()).toEqual(stamps);
      for (const s of stamps) expect(s > w).toBe(true);
    });

    it('server_changes: rows the server computed because of this request come back to the device that caused them', async () => {
      const f = await createFamily(t, 'gina');
      const first = await sync(f.token(), {
        device_id: 'G',
        changes: [task({ entity_id: 't1', data: { title: 'Chore', points: 10, assignees: ['gina'] } })],
      });
      const done = await sync(f.token(), {
        device_id: 'G',
        last_sync_at: first.last_sync_at,
        changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { status: 'done', completedAt: new Date().toISOString() } })],
      });
      expect(done).toMatchObject({ success: true, applied: [{ entity_type: 'task', entity_id: 't1', version: 2 }] });
      const got = done.server_changes.map((c) => `${c.entity_type}/${c.entity_id}`);
      // The task itself was fully applied by this request: not sent back; the computed rows are.
      expect(got).not.toContain('task/t1');
      expect(got).toEqual(expect.arrayContaining(['points_ledger/task_completed:t1:gina', 'user_streak/gina', 'badge/gina:first_task']));
      expect(done.server_changes.find((c) => c.entity_type === 'points_ledger')).toMatchObject({
        action: 'create',
        data: expect.objectContaining({ userId: 'gina', delta: 10, reason: 'task_completed', taskId: 't1' }),
      });
    });

    it('actions: create if new since last_sync_at, delete if deleted (also created and deleted since), else update; a first sync omits deleted', async () => {
      const f = await createFamily(t);
      await sync(f.token(), {
        changes: [
          task({ entity_id: 'old-upd', data: { title: 'x' } }),
          task({ entity_id: 'old-del', data: { title: 'y' } }),
          task({ entity_id: 'old-same', data: { title: 'z' } }),
        ],
      });
      const w = (await pull(f.token(), 'B')).last_sync_at;
      await sync(f.token(), {
        changes: [
          task({ entity_id: 'old-upd', action: 'update', version: 1, data: { title: 'x2' } }),
          task({ entity_id: 'old-del', action: 'delete', version: 1 }),
          task({ entity_id: 'new', data: { title: 'n' } }),
          task({ entity_id: 'new-del', data: { title: 'nd' } }),
          event({ entity_id: 'new-ev', data: { title: 'ev', start: '2025-12-01T10:00:00Z' } }),
        ],
      });
      await sync(f.token(), {
        changes: [
          task({ entity_id: 'new-del', action: 'delete', version: 1 }),
          task({ entity_id: 'new', action: 'update', version: 1, data: { desc: 'later' } }),
        ],
      });
      const since = await pull(f.token(), 'B', w);
      const summary = since.changes.map((c) => [c.entity_type, c.entity_id, c.action, c.version, c.data === null]);
      expect(summary).toEqual([
        ['task', 'old-upd', 'update', 2, false],
        ['task', 'old-del', 'delete', 2, true],
        ['event', 'new-ev', 'create', 1, false],
        ['task', 'new-del', 'delete', 2, true],
        ['task', 'new', 'create', 2, false],
      ]);
      expect(since.changes.find((c) => c.entity_id === 'new')!.data).toEqual({ ...TASK_DEFAULTS, title: 'n', desc: 'later' });

      const first = await pull(f.token(), 'fresh');
      expect(first.changes.map((c) => [c.entity_id, c.action])).toEqual([
        ['old-same', 'create'],
        ['old-upd', 'create'],
        ['new-ev', 'create'],
        ['new', 'create'],
      ]);
    });

    it('timestamps are UTC with 6 fraction digits; client_timestamp keeps microseconds; server_timestamp is the commit position', async () => {
      const f = await createFamily(t);
      const w0 = (await sync(f.token(), { device_id: 'B' })).last_sync_at;
      expect(w0).toMatch(MICRO_ISO);
      const pushed = await sync(f.token(), {
        device_id: 'A',
        changes: [
          task({ entity_id: 't1', data: { title: 'a' }, client_timestamp: '2025-11-11T14:30:00.123456+02:00' }),
          task({ entity_id: 't2', data: { title: 'b' }, client_timestamp: '2025-11-11T12:30:00.5Z' }),
          task({ entity_id: 't3', data: { title: 'c' }, client_timestamp: '2025-11-11T07:30:00-0500' }),
        ],
      });
      const res = await sync(f.token(), { device_id: 'B', last_sync_at: w0 });
      expect(res.server_changes.map((c) => [c.entity_id, c.client_timestamp])).toEqual([
        ['t1', '2025-11-11T12:30:00.123456Z'],
        ['t2', '2025-11-11T12:30:00.500000Z'],
        ['t3', '2025-11-11T12:30:00.000000Z'],
      ]);
      for (const c of res.server_changes) {
        expect(c.server_timestamp).toMatch(MICRO_ISO);
        expect(c.server_timestamp > w0).toBe(true);
        expect(c.server_timestamp <= res.last_sync_at).toBe(true);
      }
      // Commit positions are distinct and increasing; the push's watermark is the latest of them.
      const stamps = res.server_changes.map((c) => c.server_timestamp);
      expect(new Set(stamps).size).toBe(3);
      expect([...stamps].sort()).toEqual(stamps);
      expect(pushed.last_sync_at).toBe(stamps[2]);
      expect(res.last_sync_at).toBe(pushed.last_sync_at);
    });

    it('echoing last_sync_at gives exactly the later changes, once each', async () => {
      const f = await createFamily(t, 'alice');
      const bob = await f.addMember('bob');
      const alice = f.token('alice');
      let bobAt = (await sync(bob, { device_id: 'bob' })).last_sync_at;
      const seen: string[] = [];
      for (let round = 0; round < 4; round++) {
        await sync(alice, {
          device_id: 'alice',
          changes: [task({ entity_id: `r${round}-a`, data: { title: 'a' } }), task({ entity_id: `r${round}-b`, data: { title: 'b' } })],
        });
        if (round > 0) {
          await sync(alice, {
            device_id: 'alice',
            changes: [task({ entity_id: `r${round - 1}-a`, action: 'update', version: 1, data: { title: 'a2' } })],
          });
        }
        const res = await sync(bob, { device_id: 'bob', last_sync_at: bobAt });
        const expected = round === 0 ? ['r0-a', 'r0-b'] : [`r${round}-a`, `r${round}-b`, `r${round - 1}-a`];
        expect(ids(res.server_changes)).toEqual(expected);
        seen.push(...ids(res.server_changes));
        // The same watermark again gives the same answer; the new one gives nothing.
        expect(ids((await sync(bob, { device_id: 'bob', last_sync_at: bobAt })).server_changes)).toEqual(expected);
        expect((await sync(bob, { device_id: 'bob', last_sync_at: res.last_sync_at })).server_changes).toEqual([]);
        bobAt = res.last_sync_at;
      }
      // The same instant written with another zone is the same watermark.
      await sync(alice, { device_id: 'alice', changes: [task({ entity_id: 'zoned', data: { title: 'z' } })] });
      const [wholeSeconds, fraction] = bobAt.slice(0, -1).split('.');
      const plusTwo = new Date(Date.parse(`${wholeSeconds}Z`) + 2 * 3600_000).toISOString().slice(0, 19);
      const zoned = `${plusTwo}.${fraction}+02:00`;
      expect(ids((await sync(bob, { device_id: 'bob', last_sync_at: zoned })).server_changes)).toEqual(['zoned']);
      bobAt = (await sync(bob, { device_id: 'bob', last_sync_at: bobAt })).last_sync_at;
      // Bob's own push with the echoed watermark: his change is not sent back, Alice's is.
      await sync(alice, { device_id: 'alice', changes: [task({ entity_id: 'alice-late', data: { title: 'x' } })] });
      const own = await sync(bob, { device_id: 'bob', last_sync_at: bobAt, changes: [task({ entity_id: 'bob-1', data: { title: 'y' } })] });
      expect(ids(own.server_changes)).toEqual(['alice-late']);
      expect((await sync(bob, { device_id: 'bob', last_sync_at: own.last_sync_at })).server_changes).toEqual([]);
      expect(ids((await sync(alice, { device_id: 'alice-2', last_sync_at: bobAt })).server_changes)).toEqual(['alice-late', 'bob-1']);
    });
  });

  describe('pagination', () => {
    it('25 entities with limit 10: pages of 10, 10, 5, every entity once, in commit order', async () => {
      const f = await createFamily(t);
      const tid = (i: number) => `t${String(i).padStart(2, '0')}`;
      await sync(f.token(), {
        device_id: 'A',
        changes: Array.from({ length: 10 }, (_, i) => task({ entity_id: tid(i + 1), data: { title: `T${i + 1}` } })),
      });
      await sync(f.token(), {
        device_id: 'A',
        changes: Array.from({ length: 10 }, (_, i) =>
          event({ entity_id: `e${i + 11}`, data: { title: `E${i + 11}`, start: '2025-12-01T10:00:00Z' } }),
        ),
      });
      await sync(f.token(), {
        device_id: 'A',
        changes: [21, 22, 23, 24, 25].map((i) => task({ entity_id: tid(i), data: { title: `T${i}` } })),
      });
      await sync(f.token(), {
        device_id: 'A',
        changes: [
          task({ entity_id: tid(3), action: 'update', version: 1, data: { desc: 'moved' } }),
          task({ entity_id: tid(7), action: 'update', version: 1, data: { desc: 'moved' } }),
        ],
      });
      const commitOrder = [
        ...[1, 2, 4, 5, 6, 8, 9, 10].map(tid),
        ...Array.from({ length: 10 }, (_, i) => `e${i + 11}`),
        ...[21, 22, 23, 24, 25].map(tid),
        tid(3),
        tid(7),
      ];

      for (const since of [null, '2000-01-01T00:00:00Z']) {
        const got = await pages(f.token(), 'B', since, 10);
        expect(got.map((p) => p.server_changes.length)).toEqual([10, 10, 5]);
        expect(got.map((p) => p.has_more)).toEqual([true, true, false]);
        expect(got.map((p) => p.resync_required)).toEqual([false, false, false]);
        const all = got.flatMap((p) => p.server_changes);
        expect(ids(all)).toEqual(commitOrder);
        const stamps = all.map((c) => c.server_timestamp);
        expect(new Set(stamps).size).toBe(25);
        expect([...stamps].sort()).toEqual(stamps);
        // Each page's watermark is not before its last entry, and the next page starts after it.
        for (let i = 0; i < got.length; i++) {
          const last = got[i].server_changes[got[i].server_changes.length - 1];
          expect(got[i].last_sync_at >= last.server_timestamp).toBe(true);
          if (i + 1 < got.length) expect(got[i + 1].server_changes[0].server_timestamp > got[i].last_sync_at).toBe(true);
        }
        const after = await sync(f.token(), { device_id: 'B', last_sync_at: got[2].last_sync_at, limit: 10 });
        expect(after).toMatchObject({ server_changes: [], has_more: false });
      }

      const exact = await sync(f.token(), { device_id: 'C', limit: 25 });
      expect(exact.server_changes).toHaveLength(25);
      expect(exact.has_more).toBe(false);
    });

    it('a push response is paged too; a change made between pages is delivered once', async () => {
      const f = await createFamily(t);
      await sync(f.token(), {
        device_id: 'A',
        changes: Array.from({ length: 6 }, (_, i) => task({ entity_id: `p${i}`, data: { title: 'p' } })),
      });
      const push = await sync(f.token(), { device_id: 'B', limit: 4, changes: [task({ entity_id: 'b1', data: { title: 'b' } })] });
      expect(push).toMatchObject({ success: true, applied_count: 1, has_more: true });
      expect(ids(push.server_changes)).toEqual(['p0', 'p1', 'p2', 'p3']);
      // Another device changes p1 (already delivered) and p5 (not yet) between the pages.
      await sync(f.token(), {
        device_id: 'A',
        changes: [
          task({ entity_id: 'p1', action: 'update', version: 1, data: { title: 'p1b' } }),
          task({ entity_id: 'p5', action: 'update', version: 1, data: { title: 'p5b' } }),
        ],
      });
      const rest = await pages(f.token(), 'B', push.last_sync_at, 4);
      const restIds = rest.flatMap((p) => ids(p.server_changes));
      expect(restIds).toEqual(['p4', 'b1', 'p1', 'p5']);
      expect(rest.flatMap((p) => p.server_changes).find((c) => c.entity_id === 'p5')).toMatchObject({ version: 2, data: { title: 'p5b' } });
    });
  });

  describe('family isolation', () => {
    it('the same entity_id in two families names two entities; neither family sees the other', async () => {
      const a = await createFamily(t, 'anna');
      const b = await createFamily(t, 'bert');
      const ra = await sync(a.token(), {
        changes: [task({ entity_id: 'same', data: { title: 'A' } }), task({ entity_id: 'only-a', data: { title: 'A2' } })],
      });
      const rb = await sync(b.token(), { changes: [task({ entity_id: 'same', data: { title: 'B' } })] });
      expect(ra.applied.map((x) => x.version)).toEqual([1, 1]);
      expect(rb).toMatchObject({ success: true, applied: [{ entity_type: 'task', entity_id: 'same', version: 1 }] });

      await sync(b.token(), { changes: [task({ entity_id: 'same', action: 'update', version: 1, data: { title: 'B2' } })] });
      await sync(b.token(), { changes: [task({ entity_id: 'same', action: 'delete', version: 2 })] });
      // A's entity is untouched: version 1 still applies there without conflict.
      const ua = await sync(a.token(), { changes: [task({ entity_id: 'same', action: 'update', version: 1, data: { desc: 'A only' } })] });
      expect(ua).toMatchObject({ success: true, applied: [{ entity_type: 'task', entity_id: 'same', version: 2 }] });

      const seenByA = await pull(a.token(), 'a-new', '2000-01-01T00:00:00Z');
      expect(seenByA.changes.map((c) => [c.entity_id, c.action, c.version, c.data?.title])).toEqual([
        ['only-a', 'create', 1, 'A2'],
        ['same', 'create', 2, 'A'],
      ]);
      const seenByB = await pull(b.token(), 'b-new', '2000-01-01T00:00:00Z');
      expect(seenByB.changes.map((c) => [c.entity_id, c.action, c.version])).toEqual([['same', 'delete', 3]]);
      // B's update of an id only A has is not_found in B.
      const cross = await sync(b.token(), {
        changes: [task({ entity_id: 'only-a', action: 'update', version: 1, data: { title: 'hijack' } })],
      });
      expect(cross.errors).toEqual([expect.objectContaining({ entity_id: 'only-a', code: 'not_found' })]);
      expect((await pull(a.token(), 'a-new', '2000-01-01T00:00:00Z')).changes.find((c) => c.entity_id === 'only-a')!.data).toMatchObject({
        title: 'A2',
      });
    });

    it('a removed member gets 403 on /sync/delta; a token without familyId or of another family gets 403', async () => {
      const f = await createFamily(t, 'olga');
      const pete = await f.addMember('pete');
      expect(await sync(pete, { device_id: 'pete', changes: [task({ entity_id: 'p1', data: { title: 'p' } })] })).toMatchObject({
        success: true,
      });
      await request(t.server).delete(`/families/${f.familyId}/members/pete`).set(bearer(f.token())).expect(204);

      const removed = await delta(t, pete, { device_id: 'pete', changes: [task({ entity_id: 'p2', data: { title: 'after removal' } })] });
      expect(removed.status).toBe(403);
      expect(removed.body).toMatchObject({ statusCode: 403, error: 'not_a_member' });
      expect(await countRows('tasks', f.familyId)).toBe(1);
      // The pull-only path checks membership in its snapshot's first statement, and the
      // device update beside it writes nothing for a non-member.
      const removedPull = await delta(t, pete, { device_id: 'pete-tablet' });
      expect(removedPull.status).toBe(403);
      expect(removedPull.body).toMatchObject({ statusCode: 403, error: 'not_a_member' });
      const devices = await t.app
        .get(DataSource)
        .query('SELECT device_id FROM sync_devices WHERE family_id = $1 ORDER BY device_id', [f.familyId]);
      expect(devices).toEqual([{ device_id: 'pete' }]);

      const noFamily = await delta(t, mintToken({ sub: 'olga' }), { device_id: 'x' });
      expect(noFamily.status).toBe(403);
      expect(noFamily.body).toMatchObject({ statusCode: 403, error: 'no_family_in_token' });

      const other = await createFamily(t, 'quinn');
      const foreign = await delta(t, mintToken({ sub: 'olga', familyId: other.familyId }), {
        device_id: 'x',
        changes: [task({ entity_id: 'q', data: { title: 'q' } })],
      });
      expect(foreign.status).toBe(403);
      expect(await countRows('tasks', other.familyId)).toBe(0);

      const noToken = await request(t.server).post('/sync/delta').send({ device_id: 'x' });
      expect(noToken.status).toBe(401);
    });
  });

  // Last: purging tombstones touches every family of this suite's database.
  describe('tombstone horizon', () => {
    async function familyWithPurgedTombstone(): Promise<{ f: FamilyFixture; before: string; atDelete: string }> {
      const f = await createFamily(t);
      const before = (
        await sync(f.token(), {
          device_id: 'A',
          changes: ['a', 'b', 'c', 'd'].map((id) => task({ entity_id: id, data: { title: id } })),
        })
      ).last_sync_at;
      const atDelete = (await sync(f.token(), { device_id: 'A', changes: [task({ entity_id: 'd', action: 'delete', version: 1 })] }))
        .last_sync_at;
      await sync(f.token(), { device_id: 'A', changes: [task({ entity_id: 'a', action: 'update', version: 1, data: { desc: 'after' } })] });
      expect(await t.app.get(SyncMaintenanceService).purgeTombstones(0)).toBeGreaterThanOrEqual(1);
      const [{ horizon_us }] = await db().query('SELECT horizon_us FROM family_sync_state WHERE family_id = $1', [f.familyId]);
      expect(Number(horizon_us)).toBeGreaterThan(0);
      return { f, before, atDelete };
    }

    it('a last_sync_at behind the horizon -> resync_required and the full current state without tombstones', async () => {
      const { f, before, atDelete } = await familyWithPurgedTombstone();
      const res = await sync(f.token(), { device_id: 'B', last_sync_at: before });
      expect(res).toMatchObject({ resync_required: true, has_more: false, success: true });
      expect(res.server_changes.map((c) => [c.entity_id, c.action, c.version])).toEqual([
        ['b', 'create', 1],
        ['c', 'create', 1],
        ['a', 'create', 2],
      ]);
      // Echoing the new watermark is a normal sync again.
      const next = await sync(f.token(), { device_id: 'B', last_sync_at: res.last_sync_at });
      expect(next).toMatchObject({ resync_required: false, server_changes: [] });
      // A watermark at the horizon lost nothing: a normal delta.
      const atHorizon = await sync(f.token(), { device_id: 'C', last_sync_at: atDelete });
      expect(atHorizon.resync_required).toBe(false);
      expect(atHorizon.server_changes.map((c) => [c.entity_id, c.action])).toEqual([['a', 'update']]);
      // First syncs never need a resync.
      expect((await sync(f.token(), { device_id: 'D' })).resync_required).toBe(false);
    });

    it('the resync is paged like a first sync: every entity once, then a normal sync', async () => {
      const { f, before } = await familyWithPurgedTombstone();
      const got = await pages(f.token(), 'B', before, 1, 10);
      // Only the first page asks the client to replace its replica; the next pages continue it.
      expect(got.map((p) => p.resync_required)).toEqual([true, false, false]);
      expect(got.map((p) => p.has_more)).toEqual([true, true, false]);
      expect(got.flatMap((p) => ids(p.server_changes))).toEqual(['b', 'c', 'a']);
      expect(got.flatMap((p) => p.server_changes).some((c) => c.action === 'delete')).toBe(false);
      const next = await sync(f.token(), { device_id: 'B', last_sync_at: got[got.length - 1].last_sync_at });
      expect(next).toMatchObject({ resync_required: false, server_changes: [] });
    });

    it('a purge between two pages of a resync does not lose a delete: the replica converges', async () => {
      const { f, before } = await familyWithPurgedTombstone();
      const replica = new Map<string, ServerChange>();
      const apply = (page: DeltaBody) => {
        if (page.resync_required) replica.clear();
        for (const c of page.server_changes) {
          if (c.action === 'delete') replica.delete(c.entity_id);
          else replica.set(c.entity_id, c);
        }
      };
      const first = await sync(f.token(), { device_id: 'B', last_sync_at: before, limit: 1 });
      apply(first);
      expect(ids(first.server_changes)).toEqual(['b']);
      // Before the device asks for page 2: `b` is deleted and its tombstone purged.
      await sync(f.token(), { device_id: 'A', changes: [task({ entity_id: 'b', action: 'delete', version: 1 })] });
      expect(await t.app.get(SyncMaintenanceService).purgeTombstones(0)).toBeGreaterThanOrEqual(1);
      const rest = await pages(f.token(), 'B', first.last_sync_at, 1, 10);
      rest.forEach(apply);
      expect([...replica.keys()].sort()).toEqual(['a', 'c']);
    });

    it('a paged first sync of a family that has a horizon ends: every entity once, no resync', async () => {
      const { f } = await familyWithPurgedTombstone();
      const got = await pages(f.token(), 'fresh', null, 1, 10);
      expect(got.map((p) => p.resync_required)).toEqual([false, false, false]);
      expect(got.flatMap((p) => ids(p.server_changes))).toEqual(['b', 'c', 'a']);
    });

    it('a push with a watermark behind the horizon applies its changes and answers resync_required', async () => {
      const { f, before } = await familyWithPurgedTombstone();
      const res = await sync(f.token(), {
        device_id: 'B',
        last_sync_at: before,
        changes: [task({ entity_id: 'b', action: 'update', version: 1, data: { title: 'b2' } })],
      });
      expect(res).toMatchObject({ resync_required: true, success: true, applied: [{ entity_type: 'task', entity_id: 'b', version: 2 }] });
      expect(ids(res.server_changes)).toEqual(expect.arrayContaining(['c', 'a']));
      expect(ids(res.server_changes)).not.toContain('d');
    });
  });
});
