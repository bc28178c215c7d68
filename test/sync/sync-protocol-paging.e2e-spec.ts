import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { DataSource } from 'typeorm';
import { protocolSuite } from '../support/protocol-helpers';
import { createFamily, delta, FamilyFixture } from '../support/sync-fixtures';
import type { ServerChangeDto as ServerChange, DeltaResponseDto as DeltaBody } from '../../apps/api/src/sync/dto/delta-response.dto';

/**
 * The POST /sync/delta protocol (PROTOCOL 2), over HTTP against a real PostgreSQL, one of three
 * suites (sync-protocol*.e2e-spec.ts, helpers in test/support/protocol-helpers.ts): pagination,
 * family isolation and the tombstone horizon.
 */
describe('sync protocol (POST /sync/delta): pagination, isolation, horizon', () => {
  const { sync, pages, pull, ids, task, event, db, countRows, app } = protocolSuite();

  describe('pagination', () => {
    it('25 entities with limit 10: pages of 10, 10, 5, every entity once, in commit order', async () => {
      const f = await createFamily(app());
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
      const f = await createFamily(app());
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
      const a = await createFamily(app(), 'anna');
      const b = await createFamily(app(), 'bert');
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
      const f = await createFamily(app(), 'olga');
      const pete = await f.addMember('pete');
      expect(await sync(pete, { device_id: 'pete', changes: [task({ entity_id: 'p1', data: { title: 'p' } })] })).toMatchObject({
        success: true,
      });
      await request(app().server).delete(`/families/${f.familyId}/members/pete`).set(bearer(f.token())).expect(204);

      const removed = await delta(app(), pete, {
        device_id: 'pete',
        changes: [task({ entity_id: 'p2', data: { title: 'after removal' } })],
      });
      expect(removed.status).toBe(403);
      expect(removed.body).toMatchObject({ statusCode: 403, error: 'not_a_member' });
      expect(await countRows('tasks', f.familyId)).toBe(1);
      // The pull-only path checks membership in its snapshot's first statement, and the
      // device update beside it writes nothing for a non-member.
      const removedPull = await delta(app(), pete, { device_id: 'pete-tablet' });
      expect(removedPull.status).toBe(403);
      expect(removedPull.body).toMatchObject({ statusCode: 403, error: 'not_a_member' });
      const devices = await app()
        .app.get(DataSource)
        .query('SELECT device_id FROM sync_devices WHERE family_id = $1 ORDER BY device_id', [f.familyId]);
      expect(devices).toEqual([{ device_id: 'pete' }]);

      const noFamily = await delta(app(), mintToken({ sub: 'olga' }), { device_id: 'x' });
      expect(noFamily.status).toBe(403);
      expect(noFamily.body).toMatchObject({ statusCode: 403, error: 'no_family_in_token' });

      const other = await createFamily(app(), 'quinn');
      const foreign = await delta(app(), mintToken({ sub: 'olga', familyId: other.familyId }), {
        device_id: 'x',
        changes: [task({ entity_id: 'q', data: { title: 'q' } })],
      });
      expect(foreign.status).toBe(403);
      expect(await countRows('tasks', other.familyId)).toBe(0);

      const noToken = await request(app().server).post('/sync/delta').send({ device_id: 'x' });
      expect(noToken.status).toBe(401);
    });
  });

  // Last: purging tombstones touches every family of this suite's database.
  describe('tombstone horizon', () => {
    async function familyWithPurgedTombstone(): Promise<{ f: FamilyFixture; before: string; atDelete: string }> {
      const f = await createFamily(app());
      const before = (
        await sync(f.token(), {
          device_id: 'A',
          changes: ['a', 'b', 'c', 'd'].map((id) => task({ entity_id: id, data: { title: id } })),
        })
      ).last_sync_at;
      const atDelete = (await sync(f.token(), { device_id: 'A', changes: [task({ entity_id: 'd', action: 'delete', version: 1 })] }))
        .last_sync_at;
      await sync(f.token(), { device_id: 'A', changes: [task({ entity_id: 'a', action: 'update', version: 1, data: { desc: 'after' } })] });
      expect(await app().app.get(SyncMaintenanceService).purgeTombstones(0)).toBeGreaterThanOrEqual(1);
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
      expect(await app().app.get(SyncMaintenanceService).purgeTombstones(0)).toBeGreaterThanOrEqual(1);
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
