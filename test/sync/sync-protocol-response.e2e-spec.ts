import { EVENT_DEFAULTS, protocolSuite, TASK_DEFAULTS } from '../support/protocol-helpers';
import { createFamily, MICRO_ISO } from '../support/sync-fixtures';

/**
 * The POST /sync/delta protocol (PROTOCOL 2), over HTTP against a real PostgreSQL, one of three
 * suites (sync-protocol*.e2e-spec.ts, helpers in test/support/protocol-helpers.ts): the response's
 * details.
 */
describe('sync protocol (POST /sync/delta): response details', () => {
  const { sync, pull, ids, task, event, app } = protocolSuite();

  describe('response details', () => {
    it('applied carries data only when the change was not based on the server state', async () => {
      const f = await createFamily(app());
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
      const f = await createFamily(app());
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
      const f = await createFamily(app(), 'gina');
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
      const f = await createFamily(app());
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
      const f = await createFamily(app());
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
      const f = await createFamily(app(), 'alice');
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
});
