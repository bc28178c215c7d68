import { change } from '../support/sync-fixtures';
import { at, ruleSuite, TASK_DEFAULTS } from '../support/rule-helpers';

/**
 * POST /sync/delta conflict rules (PROTOCOL 2.1) over HTTP against a real PostgreSQL, one of
 * four suites (sync-rules*.e2e-spec.ts) covering the items of the original API document:
 * empty changes, concurrent users and the per-change errors (PROTOCOL 2.2).
 */
describe('sync rules (POST /sync/delta): empty changes, concurrent users, per-change errors', () => {
  const { sync, pull, stateOf, row, task, event, familyWithTask, family } = ruleSuite();

  describe('empty changes', () => {
    it('changes: [] and omitted changes are pulls: 200, nothing applied, the other devices changes returned', async () => {
      const f = await family();
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
        request_id: null,
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
      const f = await family('alice');
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
      const f = await family('carol');
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
      const f = await family('erin');
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
      const f = await family();
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
      const f = await family();
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
      const f = await family();
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
