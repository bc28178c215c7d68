import request from 'supertest';
import { Client } from 'pg';
import { bearer } from '@app/testing';
import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { sqlClient } from '../support/db-state';
import { metricsText, sample } from '../support/operations-helpers';
import { listRequests, replay } from '../support/replay-helpers';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** PROTOCOL 2.11: push records, replay and explain, through HTTP on real PostgreSQL. */
describe('replay and explain (PROTOCOL 2.11)', () => {
  let t: TestApp;
  let sql: Client;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
    sql = await sqlClient(t, 'e2e-requests');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();

  it('records a push with its outcomes and rules; a retry is no new record; a pull has no request_id', async () => {
    const f = await createFamily(t, 'alice', 'Records');
    const first = await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [change({ entity_id: 't1', data: { title: 'One' }, client_timestamp: at(1) })],
    });
    const body = {
      device_id: 'phone',
      changes: [
        change({ entity_id: 't1', action: 'update', version: 1, data: { title: 'Mine' }, client_timestamp: at(2) }),
        change({ entity_id: 't1', action: 'update', version: 1, data: { title: 'Stale' }, client_timestamp: at(0) }),
        change({ entity_id: 'gone', action: 'update', version: 1, data: { title: 'x' }, client_timestamp: at(3) }),
      ],
    };
    const pushed = await syncOk(t, f.token(), body);
    expect(pushed.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const retried = await syncOk(t, f.token(), body);
    expect(retried.request_id).toBeNull();
    expect((await syncOk(t, f.token(), { device_id: 'phone' })).request_id).toBeNull();

    const list = await listRequests(t, f.token(), '?device_id=phone');
    expect(list).toEqual([
      expect.objectContaining({ request_id: pushed.request_id, device_id: 'phone', user_id: 'alice', changes: 3, errors: 1 }),
    ]);
    const record = (await request(t.server).get(`/sync/requests/${pushed.request_id}`).set(bearer(f.token())).expect(200)).body;
    expect(record.outcomes).toEqual([
      { outcome: 'applied', rule: 'version_match', version: 2 },
      expect.objectContaining({ outcome: 'conflict', rule: 'last_writer_wins', resolution: 'server_wins' }),
      expect.objectContaining({ outcome: 'error', rule: 'not_found', code: 'not_found' }),
    ]);
    expect(record.before.rows).toEqual([expect.objectContaining({ type: 'task', id: 't1', row: expect.objectContaining({ version: 1 }) })]);
    expect(first.request_id).not.toBe(pushed.request_id);

    const answer = await replay(t, f.token(), pushed.request_id!);
    expect(answer.same).toBe(true);
    expect(answer.changes.map((c) => [c.rule, c.same])).toEqual([
      ['version_match', true],
      ['last_writer_wins', true],
      ['not_found', true],
    ]);
    expect(sample(await metricsText(t), 'sync_replays_total', { same: 'true' })).toBeGreaterThan(0);
  });

  it('a replay on a changed state reports the changes whose outcome differs, and only those', async () => {
    const f = await createFamily(t, 'alice', 'Replay differs');
    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [change({ entity_id: 'a', data: { title: 'A' } }), change({ entity_id: 'b', data: { title: 'B' } })],
    });
    const pushed = await syncOk(t, f.token(), {
      device_id: 'phone',
      changes: [
        change({ entity_id: 'a', action: 'update', version: 1, data: { title: 'A2' }, client_timestamp: at(5) }),
        change({ entity_id: 'b', action: 'update', version: 1, data: { title: 'B2' }, client_timestamp: at(5) }),
      ],
    });
    // As if the rules saw another state for `a`: its recorded version moves on (a stale update now).
    await sql.query(`UPDATE sync_requests SET before = jsonb_set(before, '{rows,0,row,version}', '7') WHERE family_id = $1 AND id = $2`, [
      f.familyId,
      pushed.request_id,
    ]);
    const answer = await replay(t, f.token(), pushed.request_id!);
    expect(answer.same).toBe(false);
    expect(answer.changes.filter((c) => !c.same).map((c) => c.entity_id)).toEqual(['a']);
    expect(answer.changes[0]!.replayed).toMatchObject({ rule: 'last_writer_wins' });
  });

  it('owners only: a member gets 403, another family and a purged record 404 request_not_found', async () => {
    const f = await createFamily(t, 'alice', 'Owners');
    const bob = await f.addMember('bob');
    const pushed = await syncOk(t, bob, { device_id: 'bob-phone', changes: [change({ entity_id: 'o', data: { title: 'O' } })] });
    await request(t.server).get('/sync/requests').set(bearer(bob)).expect(403);
    await request(t.server).get(`/sync/requests/${pushed.request_id}`).set(bearer(bob)).expect(403);
    await request(t.server).post(`/sync/requests/${pushed.request_id}/replay`).set(bearer(bob)).expect(403);
    const other = await createFamily(t, 'carol', 'Other');
    const foreign = await request(t.server).get(`/sync/requests/${pushed.request_id}`).set(bearer(other.token())).expect(404);
    expect(foreign.body.error).toBe('request_not_found');
    await request(t.server).get('/sync/requests/not-a-uuid').set(bearer(f.token())).expect(404);
    await request(t.server).get(`/sync/requests/${pushed.request_id}`).set(bearer(f.token())).expect(200);
    await sql.query(`UPDATE sync_requests SET recorded_at = now() - interval '8 days' WHERE family_id = $1`, [f.familyId]);
    expect((await t.app.get(SyncMaintenanceService).runOnce()).requests).toBeGreaterThan(0);
    const purged = await request(t.server).get(`/sync/requests/${pushed.request_id}`).set(bearer(f.token())).expect(404);
    expect(purged.body.error).toBe('request_not_found');
  });

  it('explain: changed_after_last_sync, then delivered once the device confirms it; device_never_synced, never_existed, purged', async () => {
    const f = await createFamily(t, 'alice', 'Explain');
    const explain = async (device: string, id: string) =>
      (
        await request(t.server)
          .get('/sync/explain')
          .query({ device_id: device, entity_type: 'task', entity_id: id })
          .set(bearer(f.token()))
          .expect(200)
      ).body;
    const phone = await syncOk(t, f.token(), { device_id: 'phone' });
    await syncOk(t, f.token(), { device_id: 'laptop', changes: [change({ entity_id: 'e1', data: { title: 'E' } })] });
    expect(await explain('phone', 'e1')).toMatchObject({
      delivered: false,
      reason: 'changed_after_last_sync',
      entity: { version: 1, deleted: false, lane: 0 },
    });
    const pulled = await syncOk(t, f.token(), { device_id: 'phone', last_sync_at: phone.last_sync_at });
    expect(pulled.server_changes.map((c) => c.entity_id)).toEqual(['e1']);
    // The device confirms what it holds with its next request's last_sync_at.
    await syncOk(t, f.token(), { device_id: 'phone', last_sync_at: pulled.last_sync_at });
    expect(await explain('phone', 'e1')).toMatchObject({
      delivered: true,
      reason: 'delivered',
      device: { last_sync_at: pulled.last_sync_at },
    });
    expect(await explain('tablet', 'e1')).toMatchObject({ delivered: false, reason: 'device_never_synced', device: null });
    expect(await explain('phone', 'nothing')).toMatchObject({ delivered: false, reason: 'never_existed', entity: null });
    await syncOk(t, f.token(), { device_id: 'laptop', changes: [change({ entity_id: 'e1', action: 'delete', version: 1 })] });
    await sql.query(`UPDATE tasks SET deleted_us = 1 WHERE family_id = $1 AND id = 'e1'`, [f.familyId]);
    await t.app.get(SyncMaintenanceService).runOnce();
    expect(await explain('phone', 'e1')).toMatchObject({ delivered: false, reason: 'purged', entity: null });
    await request(t.server)
      .get('/sync/explain')
      .query({ device_id: 'phone', entity_type: 'chores', entity_id: 'x' })
      .set(bearer(f.token()))
      .expect(400);
  });

  it('SYNC_REPLAY_DAYS=0 records nothing: request_id null', async () => {
    const off = await startTestApp({ SYNC_REPLAY_DAYS: '0' }, { db: t.db });
    try {
      const f = await createFamily(off, 'alice', 'No records');
      const res = await syncOk(off, f.token(), { device_id: 'phone', changes: [change({ entity_id: 'n', data: { title: 'N' } })] });
      expect(res.request_id).toBeNull();
      expect(await listRequests(off, f.token())).toEqual([]);
    } finally {
      await off.close();
    }
  });
});
