import request from 'supertest';
import { bearer } from '@app/testing';
import { change, delta } from '../support/sync-fixtures';
import { eventually, metricsText, operationsSuite, sample, ts } from '../support/operations-helpers';

/**
 * PROTOCOL 3 and the HTTP envelope of POST /sync/delta, one of four suites
 * (sync-operations*.e2e-spec.ts, helpers in test/support/operations-helpers.ts): the rate
 * limit (the per-sync log line: sync-operations-logs.e2e-spec.ts).
 */
describe('sync rate limit (SYNC_RATE_LIMIT=3)', () => {
  const { app, family, sql } = operationsSuite({ SYNC_RATE_LIMIT: '3' });

  it('the 4th POST /sync/delta of a user within a minute is 429 with Retry-After; another user of the family is not limited', async () => {
    const before = await metricsText(app());
    for (const device of ['a-1', 'a-2', 'a-1']) {
      expect((await delta(app(), family().token(), { device_id: device })).status).toBe(200);
    }
    // Per user, whatever the device.
    const limited = await delta(app(), family().token(), {
      device_id: 'a-3',
      changes: [change({ entity_id: 'rl-1', data: { title: 'limited' }, client_timestamp: ts() })],
    });
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/json/);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body).toMatchObject({ statusCode: 429, error: expect.any(String), message: expect.any(String) });
    expect((await sql().query('SELECT 1 FROM tasks WHERE id = $1', ['rl-1'])).rowCount).toBe(0);
    expect((await delta(app(), family().token(), { device_id: 'a-1' })).status).toBe(429);

    for (let i = 0; i < 3; i++) {
      const bob = await delta(app(), family().token('bob'), {
        device_id: 'b-1',
        changes: [change({ entity_id: `rl-bob-${i}`, data: { title: 'bob' }, client_timestamp: ts() })],
      });
      expect(bob.status).toBe(200);
    }
    expect((await delta(app(), family().token('bob'), { device_id: 'b-1' })).status).toBe(429);

    // Reads are not counted.
    await request(app().server).get('/sync/devices').set(bearer(family().token())).expect(200);
    await eventually(async () => {
      const after = await metricsText(app());
      expect(sample(after, 'sync_requests_total', { status: '429' }) - sample(before, 'sync_requests_total', { status: '429' })).toBe(3);
    });
  });
});
