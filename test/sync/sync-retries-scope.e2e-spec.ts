import { outcomes, retrySuite, ts } from '../support/retry-helpers';
import { change, createFamily, delta } from '../support/sync-fixtures';

/**
 * PROTOCOL 2.4 / 2.5: retries are exactly-once, and a fault in the middle of a request's
 * transaction leaves nothing of the batch behind (5xx), so that resending it is safe. One of
 * four suites (sync-retries*.e2e-spec.ts, helpers in test/support/retry-helpers.ts):
 * retry keys per device and per family, and retried conflicts, merges, errors and
 * duplicates return their original outcome.
 */
describe('sync retries are exactly-once (PROTOCOL 2.4, 2.5): scope and outcomes', () => {
  const { createTask, taskRow, ledgerCount, app, family } = retrySuite();

  it('retry keys are scoped per device: another device sending an identical change makes a new change', async () => {
    await createTask('r-dev');
    const at = ts();
    const same = () => change({ entity_id: 'r-dev', action: 'update', version: 1, data: { title: 'from A' }, client_timestamp: at });
    const a = await delta(app(), family().token(), { device_id: 'dev-A', changes: [same()] });
    expect(a.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-dev', version: 2 }] });
    const later = await delta(app(), family().token(), {
      device_id: 'dev-A',
      changes: [change({ entity_id: 'r-dev', action: 'update', version: 2, data: { title: 'A later' }, client_timestamp: ts() })],
    });
    expect(later.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-dev', version: 3 }] });
    // Device B's identical change is not A's retry: it is evaluated, and its version 1 and
    // its older title lose.
    const b = await delta(app(), family().token(), { device_id: 'dev-B', changes: [same()] });
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ success: false, applied_count: 0 });
    expect(b.body.conflicts).toEqual([
      expect.objectContaining({ entity_id: 'r-dev', resolution: 'server_wins', client_version: 1, server_version: 3 }),
    ]);
    // And A's retry is still A's original outcome.
    expect(outcomes((await delta(app(), family().token(), { device_id: 'dev-A', changes: [same()] })).body)).toEqual(outcomes(a.body));
    expect(await taskRow('r-dev')).toMatchObject({ version: 3, data: expect.objectContaining({ title: 'A later' }) });

    // The same change_id on two devices names two changes.
    const pl = (id: string) =>
      change({
        change_id: 'shared-cid',
        entity_type: 'points_ledger',
        entity_id: id,
        data: { userId: 'alice', delta: 2 },
        client_timestamp: at,
      });
    const onA = await delta(app(), family().token(), { device_id: 'dev-A', changes: [pl('r-dev-pl-a')] });
    const onB = await delta(app(), family().token(), { device_id: 'dev-B', changes: [pl('r-dev-pl-b')] });
    expect(onA.body.applied).toEqual([{ entity_type: 'points_ledger', entity_id: 'r-dev-pl-a', version: 1 }]);
    expect(onB.body.applied).toEqual([{ entity_type: 'points_ledger', entity_id: 'r-dev-pl-b', version: 1 }]);
    expect(await ledgerCount(['r-dev-pl-a', 'r-dev-pl-b'])).toBe(2);
  });

  it('retry keys are scoped per family: the same device and change in another family is a new change', async () => {
    const g = await createFamily(app(), 'alice', 'Other family');
    const entry = change({
      change_id: 'fam-cid',
      entity_type: 'points_ledger',
      entity_id: 'r-fam-pl',
      data: { userId: 'alice', delta: 9 },
      client_timestamp: ts(),
    });
    const inF = await delta(app(), family().token(), { device_id: 'dev-fam', changes: [entry] });
    const inG = await delta(app(), g.token(), { device_id: 'dev-fam', changes: [entry] });
    expect(inF.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-fam-pl', version: 1 }] });
    expect(inG.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-fam-pl', version: 1 }] });
    expect(await ledgerCount(['r-fam-pl'], family().familyId)).toBe(1);
    expect(await ledgerCount(['r-fam-pl'], g.familyId)).toBe(1);
  });

  it('a retried conflict returns the same conflict, even after the server state moved on', async () => {
    await createTask('r-conf', { title: 'server title' });
    await delta(app(), family().token('bob'), {
      device_id: 'bob-conf',
      changes: [change({ entity_id: 'r-conf', action: 'update', version: 1, data: { title: 'bob v2' }, client_timestamp: ts() })],
    });
    const stale = {
      device_id: 'phone-conf',
      changes: [
        change({ entity_id: 'r-conf', action: 'update', version: 1, data: { title: 'old' }, client_timestamp: '2020-01-01T00:00:00Z' }),
      ],
    };
    const first = await delta(app(), family().token(), stale);
    expect(first.body.conflicts).toEqual([
      expect.objectContaining({
        entity_id: 'r-conf',
        resolution: 'server_wins',
        conflict_reason: 'Version mismatch',
        client_version: 1,
        server_version: 2,
      }),
    ]);
    await delta(app(), family().token('bob'), {
      device_id: 'bob-conf',
      changes: [change({ entity_id: 'r-conf', action: 'update', version: 2, data: { title: 'bob v3' }, client_timestamp: ts() })],
    });
    const retry = await delta(app(), family().token(), stale);
    expect(retry.status).toBe(200);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect((await taskRow('r-conf'))?.version).toBe(3);
  });

  it('a retried merge returns the same merged outcome and applies nothing again', async () => {
    await delta(app(), family().token(), {
      device_id: 'setup',
      changes: [change({ entity_id: 'r-merge', data: { title: 'T', desc: 'D' }, client_timestamp: ts() })],
    });
    const tMine = ts();
    await delta(app(), family().token('bob'), {
      device_id: 'bob-merge',
      changes: [change({ entity_id: 'r-merge', action: 'update', version: 1, data: { title: 'bob' }, client_timestamp: ts() })],
    });
    // Stale version: the title loses to bob's newer one, the description wins.
    const body = {
      device_id: 'phone-merge',
      changes: [
        change({
          entity_id: 'r-merge',
          action: 'update',
          version: 1,
          data: { title: 'mine', desc: 'newer desc' },
          client_timestamp: tMine,
        }),
      ],
    };
    const first = await delta(app(), family().token(), body);
    expect(first.body.conflicts).toEqual([
      expect.objectContaining({ entity_id: 'r-merge', resolution: 'merged', rejected_fields: ['title'] }),
    ]);
    expect(first.body.applied).toEqual([expect.objectContaining({ entity_id: 'r-merge', version: 3 })]);
    const row = await taskRow('r-merge');
    expect(row?.data).toMatchObject({ title: 'bob', desc: 'newer desc' });
    const retry = await delta(app(), family().token(), body);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect(await taskRow('r-merge')).toEqual(row);
  });

  it('a retried error returns the same error (errors are permanent), with the valid changes replayed', async () => {
    const body = {
      device_id: 'phone-err',
      changes: [
        change({ entity_id: 'r-err-ok', data: { title: 'fine' }, client_timestamp: ts() }),
        change({ entity_id: 'r-err-bad', data: { title: 'x', colour: 'red' }, client_timestamp: ts() }),
        change({ entity_id: 'r-err-missing', action: 'update', version: 1, data: { title: 'nope' }, client_timestamp: ts() }),
        change({ entity_type: 'shopping_item', entity_id: 'r-err-type', data: { name: 'milk' }, client_timestamp: ts() }),
      ],
    };
    const first = await delta(app(), family().token(), body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: false, applied_count: 1, error_count: 3 });
    expect(first.body.errors).toEqual([
      expect.objectContaining({ index: 1, entity_id: 'r-err-bad', code: 'validation' }),
      expect.objectContaining({ index: 2, entity_id: 'r-err-missing', code: 'not_found' }),
      expect.objectContaining({ index: 3, entity_id: 'r-err-type', code: 'unknown_entity_type' }),
    ]);
    // The missing task exists by now (created elsewhere): the retry still gets its original error.
    await createTask('r-err-missing');
    const retry = await delta(app(), family().token(), body);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect((await taskRow('r-err-missing'))?.version).toBe(1);
    expect(await taskRow('r-err-bad')).toBeUndefined();
  });

  it('a change duplicated inside one batch is applied once and both copies get its outcome', async () => {
    await createTask('r-dup-u');
    const create = change({ entity_id: 'r-dup-c', data: { title: 'dup' }, client_timestamp: ts() });
    const update = change({ entity_id: 'r-dup-u', action: 'update', version: 1, data: { title: 'U' }, client_timestamp: ts() });
    const entry = change({
      entity_type: 'points_ledger',
      entity_id: 'r-dup-pl',
      data: { userId: 'alice', delta: 11 },
      client_timestamp: ts(),
    });
    const res = await delta(app(), family().token(), { device_id: 'phone-dup', changes: [create, update, entry, create, update, entry] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, conflicts: [], errors: [], applied_count: 6 });
    const applied = [
      { entity_type: 'task', entity_id: 'r-dup-c', version: 1 },
      { entity_type: 'task', entity_id: 'r-dup-u', version: 2 },
      { entity_type: 'points_ledger', entity_id: 'r-dup-pl', version: 1 },
    ];
    expect(res.body.applied).toEqual([...applied, ...applied]);
    expect((await taskRow('r-dup-c'))?.version).toBe(1);
    expect(await taskRow('r-dup-u')).toMatchObject({ version: 2, data: expect.objectContaining({ title: 'U' }) });
    expect(await ledgerCount(['r-dup-pl'])).toBe(1);

    // With change_id: the second copy (other content) is the retry of the first.
    const byId = await delta(app(), family().token(), {
      device_id: 'phone-dup',
      changes: [
        change({ change_id: 'dup-id', entity_id: 'r-dup-u', action: 'update', version: 2, data: { title: 'P' }, client_timestamp: ts() }),
        change({ change_id: 'dup-id', entity_id: 'r-dup-u', action: 'update', version: 2, data: { title: 'Q' }, client_timestamp: ts() }),
      ],
    });
    expect(byId.body).toMatchObject({ success: true, applied_count: 2, conflicts: [] });
    expect(byId.body.applied).toEqual([
      { entity_type: 'task', entity_id: 'r-dup-u', version: 3 },
      { entity_type: 'task', entity_id: 'r-dup-u', version: 3 },
    ]);
    expect(await taskRow('r-dup-u')).toMatchObject({ version: 3, data: expect.objectContaining({ title: 'P' }) });
  });
});
