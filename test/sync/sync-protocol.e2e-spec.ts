import request from 'supertest';
import { bearer } from '@app/testing';
import { protocolSuite, TASK_DEFAULTS } from '../support/protocol-helpers';
import { ChangeInput, createFamily, delta, FamilyFixture, MICRO_ISO } from '../support/sync-fixtures';
import type { ServerChangeDto as ServerChange } from '../../apps/api/src/sync/dto/delta-response.dto';

/**
 * The POST /sync/delta protocol (PROTOCOL 2), over HTTP against a real PostgreSQL, one of three
 * suites (sync-protocol*.e2e-spec.ts, helpers in test/support/protocol-helpers.ts): the usage
 * examples of the original API document and malformed envelopes.
 */
describe('sync protocol (POST /sync/delta): API examples, malformed requests', () => {
  const { sync, pull, task, db, countRows, app } = protocolSuite();

  describe('usage examples of the original API document', () => {
    it('Example 1: simple sync, three new tasks -> success, applied_count 3', async () => {
      const f = await createFamily(app());
      const res = await delta(app(), f.token(), {
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
        // The push's record (PROTOCOL 2.11).
        request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
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
      const f = await createFamily(app());
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

      const res = await delta(app(), f.token(), {
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
      const f = await createFamily(app());
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

      const res = await delta(app(), f.token(), {
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
      f = await createFamily(app());
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
      const res = await delta(app(), f.token(), body());
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: expect.any(String), message: expect.stringContaining(field) });
      expect(await countRows('tasks', f.familyId)).toBe(0);
    });

    it('bad JSON -> 400', async () => {
      const res = await request(app().server)
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
      const g = await createFamily(app());
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
});
