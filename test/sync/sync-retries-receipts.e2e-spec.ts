import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { sqlClient } from '../support/db-state';
import { Body, outcomes, post, retrySuite, scalar, ts, waitForLockWaiters } from '../support/retry-helpers';
import { change, delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.4 / 2.5: retries are exactly-once, and a fault in the middle of a request's
 * transaction leaves nothing of the batch behind (5xx), so that resending it is safe. One of
 * four suites (sync-retries*.e2e-spec.ts, helpers in test/support/retry-helpers.ts):
 * receipts of atomic batches, their 30-day lifetime, and identical requests in flight.
 */
describe('sync retries are exactly-once (PROTOCOL 2.4, 2.5): receipts', () => {
  const { createTask, taskRow, ledgerCount, app, family, sql } = retrySuite();

  it('an atomic batch that was rolled back leaves no receipt: its changes are applied when sent again', async () => {
    const good = change({ entity_id: 'r-atomic', data: { title: 'atomic' }, client_timestamp: ts() });
    const bad = change({ entity_id: 'r-atomic-missing', action: 'update', version: 3, data: { title: 'x' }, client_timestamp: ts() });
    const body = { device_id: 'phone-atomic', atomic: true, changes: [good, bad] };
    const first = await delta(app(), family().token(), body);
    expect(first.body).toMatchObject({
      success: false,
      applied_count: 0,
      applied: [],
      errors: [expect.objectContaining({ index: 1, code: 'not_found' })],
    });
    const again = await delta(app(), family().token(), body);
    expect(outcomes(again.body)).toEqual(outcomes(first.body));
    expect(await taskRow('r-atomic')).toBeUndefined();
    expect(
      await scalar(sql(), 'SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = $2', [
        family().familyId,
        'phone-atomic',
      ]),
    ).toBe(0);

    const fixed = await delta(app(), family().token(), { device_id: 'phone-atomic', atomic: true, changes: [good] });
    expect(fixed.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-atomic', version: 1 }] });
    expect((await taskRow('r-atomic'))?.version).toBe(1);
  });

  it('receipts are kept SYNC_RECEIPT_DAYS (30): a 29-day-old retry still gets its original outcome', async () => {
    await createTask('r-old');
    const body = {
      device_id: 'phone-old',
      changes: [
        change({ entity_id: 'r-old', action: 'update', version: 1, data: { title: 'old retry' }, client_timestamp: ts() }),
        change({ entity_type: 'points_ledger', entity_id: 'r-old-pl', data: { userId: 'alice', delta: 4 }, client_timestamp: ts() }),
      ],
    };
    const first = await delta(app(), family().token(), body);
    expect(first.body).toMatchObject({ success: true, applied_count: 2 });
    await sql().query(`UPDATE sync_receipts SET created_at = now() - interval '29 days' WHERE family_id = $1 AND device_id = 'phone-old'`, [
      family().familyId,
    ]);
    await sql().query(`UPDATE sync_receipts SET created_at = now() - interval '31 days' WHERE family_id = $1 AND device_id = 'setup'`, [
      family().familyId,
    ]);
    const setupReceipts = await scalar(sql(), `SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = 'setup'`, [
      family().familyId,
    ]);
    expect(setupReceipts).toBeGreaterThan(0);

    const purged = await app().app.get(SyncMaintenanceService).runOnce();
    expect(purged.receipts).toBe(setupReceipts);
    expect(
      await scalar(sql(), `SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = 'phone-old'`, [family().familyId]),
    ).toBe(2);

    const retry = await delta(app(), family().token(), body);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect((await taskRow('r-old'))?.version).toBe(2);
    expect(await ledgerCount(['r-old-pl'])).toBe(1);
  });

  it('two identical requests in flight at once (a client resending before the answer) apply once', async () => {
    await createTask('r-conc');
    const body = {
      device_id: 'phone-conc',
      changes: [
        change({ entity_id: 'r-conc', action: 'update', version: 1, data: { title: 'concurrent' }, client_timestamp: ts() }),
        change({ entity_type: 'points_ledger', entity_id: 'r-conc-pl', data: { userId: 'alice', delta: 3 }, client_timestamp: ts() }),
      ],
    };
    const holder = await sqlClient(app(), 'e2e-lock-holder');
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [family().familyId]);
      const pending = [post(app(), family().token(), body), post(app(), family().token(), body)];
      await waitForLockWaiters(sql(), app().db.name, 2);
      await holder.query('ROLLBACK');
      const [one, two] = await Promise.all(
        pending.map(async (p) => ({ status: (await p).status, body: (await (await p).json()) as Body })),
      );
      expect(one.status).toBe(200);
      expect(two.status).toBe(200);
      expect(outcomes(one.body)).toEqual(outcomes(two.body));
      expect(one.body).toMatchObject({
        success: true,
        conflicts: [],
        applied: [
          { entity_id: 'r-conc', version: 2 },
          { entity_id: 'r-conc-pl', version: 1 },
        ],
      });
    } finally {
      await holder.end();
    }
    expect((await taskRow('r-conc'))?.version).toBe(2);
    expect(await ledgerCount(['r-conc-pl'])).toBe(1);
  });
});
