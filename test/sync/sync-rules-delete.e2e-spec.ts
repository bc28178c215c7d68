import { at, ruleSuite, TASK_DEFAULTS } from '../support/rule-helpers';

/**
 * POST /sync/delta conflict rules (PROTOCOL 2.1) over HTTP against a real PostgreSQL, one of
 * four suites (sync-rules*.e2e-spec.ts) covering the items of the original API document:
 * delete wins (rule 2) and version mismatch (rule 1).
 */
describe('sync rules (POST /sync/delta): delete wins, version mismatch', () => {
  const { sync, pull, stateOf, row, task, event, familyWithTask, family } = ruleSuite();

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
      const f = await family();
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
});
