import { at, ruleSuite, TASK_DEFAULTS } from '../support/rule-helpers';

/**
 * POST /sync/delta conflict rules (PROTOCOL 2.1) over HTTP against a real PostgreSQL, one of
 * four suites (sync-rules*.e2e-spec.ts) covering the items of the original API document:
 * last writer wins per field (rule 4) and batch rollback (atomic: true).
 */
describe('sync rules (POST /sync/delta): last writer wins, atomic batches', () => {
  const { sync, pull, stateOf, row, task, event, familyWithTask, family } = ruleSuite();

  describe('last writer wins per field (rule 4)', () => {
    it('events: an older field loses, a newer one wins (applied with data), mixed ones merge, a tie goes to the server', async () => {
      const f = await family();
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
      const f = await family();
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
});
