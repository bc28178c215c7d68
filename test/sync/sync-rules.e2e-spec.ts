import { at, ruleSuite, TASK_DEFAULTS } from '../support/rule-helpers';

/**
 * POST /sync/delta conflict rules (PROTOCOL 2.1) over HTTP against a real PostgreSQL, one of
 * four suites (sync-rules*.e2e-spec.ts) covering the items of the original API document:
 * no-conflict sync and done wins (rule 3).
 */
describe('sync rules (POST /sync/delta): no conflict, done wins', () => {
  const { sync, pull, stateOf, task, event, familyWithTask, family } = ruleSuite();

  describe('no-conflict sync', () => {
    it('applies creates, updates and deletes of tasks and events; another device pulls them all', async () => {
      const f = await family();
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
});
