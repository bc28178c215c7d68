import request from 'supertest';
import { sqlClient } from '../support/db-state';
import { familyRows, faultBatch, faultSuite, post, scalar, ts, waitForLockWaiters } from '../support/retry-helpers';
import { change, delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.4 / 2.5: retries are exactly-once, and a fault in the middle of a request's
 * transaction leaves nothing of the batch behind (5xx), so that resending it is safe. One of
 * four suites (sync-retries*.e2e-spec.ts, helpers in test/support/retry-helpers.ts):
 * a fault (a killed backend, a lock or statement timeout) in the middle of the
 * transaction gives a 5xx, stores nothing, and the resend applies once.
 */
describe('a fault in the middle of the transaction (PROTOCOL 2.4): 5xx, nothing stored, resend applies once', () => {
  const { app, family, sql, ...h } = faultSuite('e2e-faults');

  it('the backend is terminated while it waits for the family lock', async () => {
    const watermark = await h.seed('kl');
    const body = faultBatch('kl', 'phone-kl');
    const rowsBefore = await familyRows(sql(), family().familyId);
    const positionBefore = await scalar<string>(sql(), 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [
      family().familyId,
    ]);
    const holder = await sqlClient(app(), 'e2e-lock-holder');
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [family().familyId]);
      const pending = post(app(), family().token(), body);
      const [pid] = await waitForLockWaiters(sql(), app().db.name);
      await sql().query('SELECT pg_terminate_backend($1)', [pid]);
      expect((await h.expectServerError(await pending)).error).toBe('database_unavailable');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    await h.expectNothingStored('kl', 'phone-kl', watermark, rowsBefore, positionBefore);
    await request(app().server).get('/health/ready').expect(200);
    await h.expectResendAppliesOnce('kl', body, watermark);
  });

  it('the backend is terminated after the rows were written (blocked on its receipts)', async () => {
    const watermark = await h.seed('kw');
    const body = faultBatch('kw', 'phone-kw');
    const rowsBefore = await familyRows(sql(), family().familyId);
    const positionBefore = await scalar<string>(sql(), 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [
      family().familyId,
    ]);
    const holder = await sqlClient(app(), 'e2e-receipt-holder');
    try {
      // An uncommitted receipt with the key of the batch's last change: the request writes
      // its entity rows, its family position, and then waits on this row's lock.
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO sync_receipts (family_id, device_id, change_key, outcome) VALUES ($1, $2, $3, '{}')`, [
        family().familyId,
        'phone-kw',
        'id:kw-4',
      ]);
      const pending = post(app(), family().token(), body);
      const [pid] = await waitForLockWaiters(sql(), app().db.name);
      // The request is inside its transaction, in the statement that writes its entity rows,
      // its family position and its receipts (one statement of CTEs), blocked on the receipt.
      const { rows } = await sql().query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = $1', [pid]);
      expect(rows[0].query).toMatch(/^WITH w0 AS \(\s*INSERT INTO tasks/);
      await sql().query('SELECT pg_terminate_backend($1)', [pid]);
      expect((await h.expectServerError(await pending)).error).toBe('database_unavailable');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    await h.expectNothingStored('kw', 'phone-kw', watermark, rowsBefore, positionBefore);
    await h.expectResendAppliesOnce('kw', body, watermark);
  });

  it('the app keeps serving after its connections were killed', async () => {
    const res = await delta(app(), family().token(), {
      device_id: 'after-kill',
      changes: [change({ entity_id: 'after-kill', data: { title: 'ok' }, client_timestamp: ts() })],
    });
    expect(res.status).toBe(200);
    expect(res.body.applied).toEqual([{ entity_type: 'task', entity_id: 'after-kill', version: 1 }]);
  });
});

describe('a lock/statement timeout mid-transaction (DB_STATEMENT_TIMEOUT_MS=500): 5xx, nothing stored', () => {
  const { app, family, sql, ...h } = faultSuite('e2e-timeouts', { DB_STATEMENT_TIMEOUT_MS: '500' });

  it('the family lock is held elsewhere longer than the timeout', async () => {
    const watermark = await h.seed('tl');
    const body = faultBatch('tl', 'phone-tl');
    const rowsBefore = await familyRows(sql(), family().familyId);
    const positionBefore = await scalar<string>(sql(), 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [
      family().familyId,
    ]);
    const holder = await sqlClient(app(), 'e2e-lock-holder');
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [family().familyId]);
      const started = Date.now();
      expect((await h.expectServerError(await post(app(), family().token(), body))).error).toBe('database_timeout');
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    await h.expectNothingStored('tl', 'phone-tl', watermark, rowsBefore, positionBefore);
    await h.expectResendAppliesOnce('tl', body, watermark);
  });

  it('a lock wait after the rows were written times out and rolls them back', async () => {
    const watermark = await h.seed('tw');
    const body = faultBatch('tw', 'phone-tw');
    const rowsBefore = await familyRows(sql(), family().familyId);
    const positionBefore = await scalar<string>(sql(), 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [
      family().familyId,
    ]);
    const holder = await sqlClient(app(), 'e2e-receipt-holder');
    try {
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO sync_receipts (family_id, device_id, change_key, outcome) VALUES ($1, $2, $3, '{}')`, [
        family().familyId,
        'phone-tw',
        'id:tw-3',
      ]);
      expect((await h.expectServerError(await post(app(), family().token(), body))).error).toBe('database_timeout');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    await h.expectNothingStored('tw', 'phone-tw', watermark, rowsBefore, positionBefore);
    await h.expectResendAppliesOnce('tw', body, watermark);
  });
});
