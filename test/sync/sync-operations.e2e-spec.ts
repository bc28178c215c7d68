import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { change, createFamily, delta } from '../support/sync-fixtures';
import { Body, eventually, metricsText, operationsSuite, sample, ts } from '../support/operations-helpers';

/**
 * PROTOCOL 3 and the HTTP envelope of POST /sync/delta, one of four suites
 * (sync-operations*.e2e-spec.ts, helpers in test/support/operations-helpers.ts): metrics
 * and devices.
 */
describe('sync operations (PROTOCOL 3): metrics, devices', () => {
  const { app, family } = operationsSuite();

  describe('GET /metrics', () => {
    it('counts sync requests, durations, changes by outcome, conflicts and batch sizes', async () => {
      const before = await metricsText(app());
      const seed = await delta(app(), family().token(), {
        device_id: 'm-seed',
        changes: [change({ entity_id: 'm-t1', data: { title: 'M' }, client_timestamp: ts() })],
      });
      const seed2 = await delta(app(), family().token(), {
        device_id: 'm-seed',
        changes: [change({ entity_id: 'm-t1', action: 'update', version: 1, data: { title: 'M2' }, client_timestamp: ts() })],
      });
      expect([seed.status, seed2.status]).toEqual([200, 200]);

      // 6 answered syncs (batch sizes 1, 1, 2, 0, 1, 1) and one malformed request.
      const a = await delta(app(), family().token(), {
        device_id: 'm-1',
        changes: [
          change({ entity_id: 'm-t2', data: { title: 'two' }, client_timestamp: ts() }),
          change({ entity_id: 'm-t3', data: { title: 'three' }, client_timestamp: ts() }),
        ],
      });
      const b = await delta(app(), family().token(), { device_id: 'm-1' });
      const c = await delta(app(), family().token(), {
        device_id: 'm-2',
        changes: [
          change({ entity_id: 'm-t1', action: 'update', version: 1, data: { title: 'stale' }, client_timestamp: '2000-01-01T00:00:00Z' }),
        ],
      });
      const d = await delta(app(), family().token(), {
        device_id: 'm-2',
        changes: [change({ entity_id: 'm-t4', data: { title: 'x', unknownField: 1 }, client_timestamp: ts() })],
      });
      const bad = await delta(app(), family().token(), {
        device_id: 'm-2',
        changes: [{ entity_type: 'task', entity_id: 'm-t5', action: 'explode' }],
      });
      expect([a.status, b.status, c.status, d.status, bad.status]).toEqual([200, 200, 200, 200, 400]);
      expect(a.body.applied_count).toBe(2);
      expect(c.body.conflicts).toEqual([expect.objectContaining({ resolution: 'server_wins' })]);
      expect(d.body.errors).toEqual([expect.objectContaining({ code: 'validation' })]);

      let after = '';
      await eventually(async () => {
        after = await metricsText(app());
        expect(sample(after, 'sync_requests_total', { status: '400' }) - sample(before, 'sync_requests_total', { status: '400' })).toBe(1);
        expect(sample(after, 'sync_requests_total', { status: '200' }) - sample(before, 'sync_requests_total', { status: '200' })).toBe(6);
      });
      const delta_ = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

      expect(after).toMatch(/^# TYPE sync_requests_total counter$/m);
      expect(after).toMatch(/^# TYPE sync_request_duration_seconds histogram$/m);
      expect(after).toMatch(/^# TYPE sync_batch_size histogram$/m);
      expect(delta_('sync_request_duration_seconds_count')).toBe(7);
      expect(delta_('sync_request_duration_seconds_bucket', { le: '+Inf' })).toBe(7);
      expect(delta_('sync_request_duration_seconds_bucket', { le: '10' })).toBe(7);
      expect(delta_('sync_request_duration_seconds_sum')).toBeGreaterThan(0);

      expect(delta_('sync_changes_total', { entity_type: 'task', outcome: 'applied' })).toBe(4);
      expect(delta_('sync_changes_total', { entity_type: 'task', outcome: 'conflict' })).toBe(1);
      expect(delta_('sync_changes_total', { entity_type: 'task', outcome: 'error' })).toBe(1);
      expect(delta_('sync_conflicts_total', { entity_type: 'task', resolution: 'server_wins' })).toBe(1);

      expect(delta_('sync_batch_size_count')).toBe(6);
      expect(delta_('sync_batch_size_sum')).toBe(6);
      expect(delta_('sync_batch_size_bucket', { le: '0' })).toBe(1);
      expect(delta_('sync_batch_size_bucket', { le: '1' })).toBe(5);
      expect(delta_('sync_batch_size_bucket', { le: '5' })).toBe(6);
      expect(delta_('sync_batch_size_bucket', { le: '+Inf' })).toBe(6);
    });

    it('counts requests refused before the body is read (401) or at the body limit (413) by their status', async () => {
      const before = await metricsText(app());
      await request(app().server).post('/sync/delta').send({ device_id: 'x' }).expect(401);
      const f = await createFamily(app(), 'alice');
      const huge = JSON.stringify({ device_id: 'x', pad: 'p'.repeat(6 * 1024 * 1024) });
      await request(app().server).post('/sync/delta').set(bearer(f.token())).set('Content-Type', 'application/json').send(huge).expect(413);
      await eventually(async () => {
        const after = await metricsText(app());
        const counted = (status: string) =>
          sample(after, 'sync_requests_total', { status }) - sample(before, 'sync_requests_total', { status });
        expect([counted('401'), counted('413')]).toEqual([1, 1]);
      });
    });
  });

  describe('GET /sync/devices', () => {
    it("lists the family's devices with sync_count and last_seen_at, and only the caller's family", async () => {
      const fam = await createFamily(app(), 'dev-owner', 'Devices family');
      await fam.addMember('dev-kid');
      const other = await createFamily(app(), 'stranger', 'Other family');
      for (let i = 0; i < 3; i++) {
        expect(
          (
            await delta(app(), fam.token(), {
              device_id: 'phone',
              changes: i === 0 ? [change({ entity_id: 'dv-1', data: { title: 'x' }, client_timestamp: ts() })] : [],
            })
          ).status,
        ).toBe(200);
      }
      expect((await delta(app(), fam.token('dev-kid'), { device_id: 'tablet' })).status).toBe(200);
      // The same device id in another family is another device.
      expect((await delta(app(), other.token(), { device_id: 'phone' })).status).toBe(200);
      expect((await delta(app(), other.token(), { device_id: 'phone' })).status).toBe(200);

      const res = await request(app().server)
        .get('/sync/devices')
        .set(bearer(fam.token('dev-kid')))
        .expect(200);
      expect(res.body).toEqual([
        expect.objectContaining({ device_id: 'tablet', user_id: 'dev-kid', sync_count: 1 }),
        expect.objectContaining({ device_id: 'phone', user_id: 'dev-owner', sync_count: 3 }),
      ]);
      for (const device of res.body) {
        expect(device.last_seen_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
        expect(Math.abs(Date.parse(device.last_seen_at) - Date.now())).toBeLessThan(60_000);
        expect(Date.parse(device.first_seen_at)).toBeLessThanOrEqual(Date.parse(device.last_seen_at));
      }
      const phoneBefore = res.body[1];
      expect(Date.parse(phoneBefore.first_seen_at)).toBeLessThan(Date.parse(phoneBefore.last_seen_at));

      const theirs = await request(app().server).get('/sync/devices').set(bearer(other.token())).expect(200);
      expect(theirs.body).toEqual([expect.objectContaining({ device_id: 'phone', user_id: 'stranger', sync_count: 2 })]);

      // Another sync moves last_seen_at and the count.
      await new Promise((r) => setTimeout(r, 5));
      await delta(app(), fam.token(), { device_id: 'phone' }).expect(200);
      const again = await request(app().server).get('/sync/devices').set(bearer(fam.token())).expect(200);
      const phone = again.body.find((d: Body) => d.device_id === 'phone');
      expect(phone.sync_count).toBe(4);
      expect(Date.parse(phone.last_seen_at)).toBeGreaterThan(Date.parse(phoneBefore.last_seen_at));
      expect(again.body[0].device_id).toBe('phone');
    });

    it('needs a token and a family', async () => {
      await request(app().server).get('/sync/devices').expect(401);
      await request(app().server)
        .get('/sync/devices')
        .set(bearer(mintToken({ sub: 'alice' })))
        .expect(403);
      await request(app().server)
        .get('/sync/devices')
        .set(bearer(mintToken({ sub: 'mallory', familyId: family().familyId })))
        .expect(403);
    });
  });
});
