import { Client } from 'pg';
import request from 'supertest';
import { bearer } from '@app/testing';
import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, delta, FamilyFixture } from '../support/sync-fixtures';
import { sqlClient } from '../support/db-state';

/**
 * PROTOCOL 2.4 / 2.5: retries are exactly-once, and a fault in the middle of a request's
 * transaction leaves nothing of the batch behind (5xx), so that resending it is safe.
 */

type Row = Record<string, unknown>;
type Body = Record<string, unknown>;

/** A SQL session of the test itself (not the app's pool): verifications and fault injection. */
/** The part of a response that is the outcome of its changes (server_changes excluded). */
const outcomes = (body: Body) => ({
  applied: body.applied,
  conflicts: body.conflicts,
  errors: body.errors,
  applied_count: body.applied_count,
  error_count: body.error_count,
  success: body.success,
});

let clock = Date.parse('2030-01-01T00:00:00.000Z') - 10 * 365 * 86_400_000;
/** Distinct, increasing client timestamps in the past (so never clamped). */
const ts = () => new Date((clock += 1000)).toISOString();

/** POST /sync/delta with fetch (starts at once, unlike a lazy supertest request). */
function post(t: TestApp, token: string, body: Body): Promise<Response> {
  return fetch(`${t.baseUrl}/sync/delta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify(body),
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Backends of the app's pool (application_name delta-sync) waiting on a lock in the suite's database. */
async function lockWaiters(sql: Client, dbName: string): Promise<number[]> {
  const { rows } = await sql.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
     WHERE datname = $1 AND application_name = 'delta-sync' AND state = 'active' AND wait_event_type = 'Lock'`,
    [dbName],
  );
  return rows.map((r) => r.pid);
}

const waitForLockWaiters = (sql: Client, dbName: string, n = 1) =>
  waitFor(`${n} delta-sync backend(s) waiting on a lock`, async () => {
    const pids = await lockWaiters(sql, dbName);
    return pids.length >= n ? pids : undefined;
  });

/** Every synced row of a family, for "nothing changed" comparisons. */
async function familyRows(sql: Client, familyId: string): Promise<Row[]> {
  const tables = ['tasks', 'events', 'points_ledger', 'user_streaks', 'badges'];
  const rows: Row[] = [];
  for (const table of tables) {
    const res = await sql.query(
      `SELECT '${table}' AS t, id, version, data, changed_us::text, deleted_us::text FROM ${table} WHERE family_id = $1 ORDER BY id`,
      [familyId],
    );
    rows.push(...res.rows);
  }
  return rows;
}

async function scalar<T = number>(sql: Client, text: string, params: unknown[]): Promise<T> {
  const { rows } = await sql.query(text, params);
  const value = Object.values(rows[0])[0];
  return (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value) as T;
}

describe('sync retries are exactly-once (PROTOCOL 2.4, 2.5)', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;

  beforeAll(async () => {
    t = await startTestApp();
    f = await createFamily(t, 'alice');
    await f.addMember('bob');
    sql = await sqlClient(t, 'e2e-retries');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  /** Creates a task through the API and returns the response body. */
  async function createTask(id: string, data: Body = { title: `Task ${id}` }, device = 'setup') {
    const res = await delta(t, f.token(), { device_id: device, changes: [change({ entity_id: id, data, client_timestamp: ts() })] });
    expect(res.status).toBe(200);
    expect(res.body.applied).toEqual([expect.objectContaining({ entity_id: id, version: 1 })]);
    return res.body;
  }

  const taskRow = async (id: string, familyId = f.familyId) =>
    (await sql.query('SELECT version, data FROM tasks WHERE family_id = $1 AND id = $2', [familyId, id])).rows[0] as
      { version: number; data: Row } | undefined;
  const ledgerCount = (ids: string[], familyId = f.familyId) =>
    scalar(sql, 'SELECT count(*) FROM points_ledger WHERE family_id = $1 AND id = ANY($2::text[])', [familyId, ids]);
  const familyPosition = () => scalar<string>(sql, 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [f.familyId]);

  it('the same request sent twice (digest keys) returns the original outcomes and writes nothing more', async () => {
    await createTask('r-a');
    const body = {
      device_id: 'phone-r1',
      changes: [
        change({ entity_id: 'r-a', action: 'update', version: 1, data: { title: 'A2' }, client_timestamp: ts() }),
        change({ entity_id: 'r-b', data: { title: 'B', desc: 'new' }, client_timestamp: ts() }),
        change({
          entity_type: 'points_ledger',
          entity_id: 'r-pl-1',
          data: { userId: 'alice', delta: 5, reason: 'bonus' },
          client_timestamp: ts(),
        }),
        change({ entity_id: 'r-c', action: 'delete', version: 0, client_timestamp: ts() }),
      ],
    };
    const first = await delta(t, f.token(), body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: true, applied_count: 4, error_count: 0, conflicts: [], errors: [] });
    expect(first.body.applied).toEqual([
      { entity_type: 'task', entity_id: 'r-a', version: 2 },
      { entity_type: 'task', entity_id: 'r-b', version: 1 },
      { entity_type: 'points_ledger', entity_id: 'r-pl-1', version: 1 },
      { entity_type: 'task', entity_id: 'r-c', version: 0 },
    ]);
    const rowsAfterFirst = await familyRows(sql, f.familyId);
    const positionAfterFirst = await familyPosition();
    const receiptsAfterFirst = await scalar(sql, 'SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = $2', [
      f.familyId,
      'phone-r1',
    ]);
    expect(receiptsAfterFirst).toBe(4);

    for (let i = 0; i < 2; i++) {
      const retry = await delta(t, f.token(), body);
      expect(retry.status).toBe(200);
      // The update did not turn into a false version conflict, the ledger entry was not doubled.
      expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    }
    expect(await familyRows(sql, f.familyId)).toEqual(rowsAfterFirst);
    expect(await familyPosition()).toBe(positionAfterFirst);
    expect(await taskRow('r-a')).toMatchObject({ version: 2, data: expect.objectContaining({ title: 'A2' }) });
    expect(await ledgerCount(['r-pl-1'])).toBe(1);
    expect(
      await scalar(
        sql,
        `SELECT coalesce(sum((data->>'delta')::int), 0) FROM points_ledger WHERE family_id = $1 AND data->>'userId' = 'alice' AND data->>'reason' = 'bonus'`,
        [f.familyId],
      ),
    ).toBe(5);
    expect(await scalar(sql, 'SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = $2', [f.familyId, 'phone-r1'])).toBe(
      4,
    );
  });

  it('a digest ignores the key order of data: the same change re-serialised is still the retry', async () => {
    await createTask('r-ko');
    const at = ts();
    const first = await delta(t, f.token(), {
      device_id: 'phone-ko',
      changes: [change({ entity_id: 'r-ko', action: 'update', version: 1, data: { title: 'K', desc: 'D' }, client_timestamp: at })],
    });
    expect(first.body.applied).toEqual([{ entity_type: 'task', entity_id: 'r-ko', version: 2 }]);
    const retry = await delta(t, f.token(), {
      device_id: 'phone-ko',
      changes: [
        { client_timestamp: at, data: { desc: 'D', title: 'K' }, version: 1, action: 'update', entity_id: 'r-ko', entity_type: 'task' },
      ],
    });
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect((await taskRow('r-ko'))?.version).toBe(2);
  });

  it('a retried update stays applied even after another device changed the entity in between', async () => {
    const created = await createTask('r-x', { title: 'X0' }, 'phone-x');
    const mine = {
      device_id: 'phone-x',
      last_sync_at: created.last_sync_at,
      changes: [change({ entity_id: 'r-x', action: 'update', version: 1, data: { title: 'X1' }, client_timestamp: ts() })],
    };
    const first = await delta(t, f.token(), mine);
    expect(first.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-x', version: 2 }] });

    const other = await delta(t, f.token('bob'), {
      device_id: 'tablet-x',
      changes: [change({ entity_id: 'r-x', action: 'update', version: 2, data: { desc: 'by bob' }, client_timestamp: ts() })],
    });
    expect(other.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-x', version: 3 }] });

    // The first response was lost: the phone resends it.
    const retry = await delta(t, f.token(), mine);
    expect(retry.status).toBe(200);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect(retry.body.conflicts).toEqual([]);
    // Nothing was re-applied: bob's write is still the latest, and the phone learns it.
    expect(await taskRow('r-x')).toMatchObject({ version: 3, data: expect.objectContaining({ title: 'X1', desc: 'by bob' }) });
    expect(retry.body.server_changes).toEqual([
      expect.objectContaining({
        entity_type: 'task',
        entity_id: 'r-x',
        version: 3,
        data: expect.objectContaining({ title: 'X1', desc: 'by bob' }),
      }),
    ]);
  });

  it('with change_id, a second change with the same change_id but different content is the retry', async () => {
    await createTask('r-cid');
    const first = await delta(t, f.token(), {
      device_id: 'phone-cid',
      changes: [
        change({
          change_id: 'cid-task',
          entity_id: 'r-cid',
          action: 'update',
          version: 1,
          data: { title: 'first' },
          client_timestamp: ts(),
        }),
        change({
          change_id: 'cid-pl',
          entity_type: 'points_ledger',
          entity_id: 'r-cid-pl-x',
          data: { userId: 'alice', delta: 7 },
          client_timestamp: ts(),
        }),
      ],
    });
    expect(first.body).toMatchObject({ success: true, applied_count: 2 });
    const ledgerBefore = await scalar(sql, 'SELECT count(*) FROM points_ledger WHERE family_id = $1', [f.familyId]);

    const second = await delta(t, f.token(), {
      device_id: 'phone-cid',
      changes: [
        // Same change_id, other data, other timestamp: still the retry of the first.
        change({
          change_id: 'cid-task',
          entity_id: 'r-cid',
          action: 'update',
          version: 1,
          data: { title: 'second' },
          client_timestamp: ts(),
        }),
        // Same change_id, another ledger id: the entry is not doubled.
        change({
          change_id: 'cid-pl',
          entity_type: 'points_ledger',
          entity_id: 'r-cid-pl-y',
          data: { userId: 'alice', delta: 7 },
          client_timestamp: ts(),
        }),
      ],
    });
    expect(second.status).toBe(200);
    expect(outcomes(second.body)).toEqual(outcomes(first.body));
    expect(await taskRow('r-cid')).toMatchObject({ version: 2, data: expect.objectContaining({ title: 'first' }) });
    expect(await ledgerCount(['r-cid-pl-x'])).toBe(1);
    expect(await ledgerCount(['r-cid-pl-y'])).toBe(0);
    expect(await scalar(sql, 'SELECT count(*) FROM points_ledger WHERE family_id = $1', [f.familyId])).toBe(ledgerBefore);
  });

  it('a retried points_ledger create is never doubled, also with change_id and in a mixed batch', async () => {
    const entry = change({
      entity_type: 'points_ledger',
      entity_id: 'r-pl-2',
      data: { userId: 'bob', delta: 40, reason: 'chores' },
      client_timestamp: ts(),
    });
    const withId = change({
      change_id: 'pl-cid-3',
      entity_type: 'points_ledger',
      entity_id: 'r-pl-3',
      data: { userId: 'bob', delta: -3 },
      client_timestamp: ts(),
    });
    const first = await delta(t, f.token('bob'), { device_id: 'bob-phone', changes: [entry, withId] });
    expect(first.body).toMatchObject({ success: true, applied_count: 2 });
    const retry = await delta(t, f.token('bob'), {
      device_id: 'bob-phone',
      changes: [
        withId,
        entry,
        change({ entity_type: 'points_ledger', entity_id: 'r-pl-4', data: { userId: 'bob', delta: 1 }, client_timestamp: ts() }),
      ],
    });
    expect(retry.body).toMatchObject({ success: true, applied_count: 3 });
    expect(retry.body.applied).toEqual([
      { entity_type: 'points_ledger', entity_id: 'r-pl-3', version: 1 },
      { entity_type: 'points_ledger', entity_id: 'r-pl-2', version: 1 },
      { entity_type: 'points_ledger', entity_id: 'r-pl-4', version: 1 },
    ]);
    expect(await ledgerCount(['r-pl-2', 'r-pl-3', 'r-pl-4'])).toBe(3);
    expect(
      await scalar(sql, `SELECT sum((data->>'delta')::int) FROM points_ledger WHERE family_id = $1 AND id = ANY($2::text[])`, [
        f.familyId,
        ['r-pl-2', 'r-pl-3', 'r-pl-4'],
      ]),
    ).toBe(38);
    const versions = await sql.query('SELECT id, version FROM points_ledger WHERE family_id = $1 AND id LIKE $2 ORDER BY id', [
      f.familyId,
      'r-pl-%',
    ]);
    expect(versions.rows.every((r) => r.version === 1)).toBe(true);
  });

  it('a retried completion does not credit points, streaks or badges twice', async () => {
    await createTask('r-done', { title: 'Dishes', points: 15, assignees: ['carol'] });
    const body = {
      device_id: 'phone-done',
      changes: [change({ entity_id: 'r-done', action: 'update', version: 1, data: { status: 'done' }, client_timestamp: ts() })],
    };
    const first = await delta(t, f.token(), body);
    expect(first.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-done', version: 2 }] });
    const serverRows = async () =>
      (await familyRows(sql, f.familyId)).filter(
        (r) => r.t !== 'tasks' && (String(r.id).startsWith('carol') || String(r.id).includes(':r-done:') || r.id === 'carol'),
      );
    const before = await serverRows();
    // PROTOCOL 2.3: the completion credited carol once (ledger entry, streak, first_task badge).
    expect(await ledgerCount(['task_completed:r-done:carol'])).toBe(1);
    expect(before.map((r) => `${r.t}:${r.id}`)).toEqual(
      expect.arrayContaining(['points_ledger:task_completed:r-done:carol', 'user_streaks:carol', 'badges:carol:first_task']),
    );
    const retry = await delta(t, f.token(), body);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect(await serverRows()).toEqual(before);
    expect((await taskRow('r-done'))?.version).toBe(2);
  });

  it('retry keys are scoped per device: another device sending an identical change makes a new change', async () => {
    await createTask('r-dev');
    const at = ts();
    const same = () => change({ entity_id: 'r-dev', action: 'update', version: 1, data: { title: 'from A' }, client_timestamp: at });
    const a = await delta(t, f.token(), { device_id: 'dev-A', changes: [same()] });
    expect(a.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-dev', version: 2 }] });
    const later = await delta(t, f.token(), {
      device_id: 'dev-A',
      changes: [change({ entity_id: 'r-dev', action: 'update', version: 2, data: { title: 'A later' }, client_timestamp: ts() })],
    });
    expect(later.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-dev', version: 3 }] });
    // Device B's identical change is not A's retry: it is evaluated, and its version 1 and
    // its older title lose.
    const b = await delta(t, f.token(), { device_id: 'dev-B', changes: [same()] });
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ success: false, applied_count: 0 });
    expect(b.body.conflicts).toEqual([
      expect.objectContaining({ entity_id: 'r-dev', resolution: 'server_wins', client_version: 1, server_version: 3 }),
    ]);
    // And A's retry is still A's original outcome.
    expect(outcomes((await delta(t, f.token(), { device_id: 'dev-A', changes: [same()] })).body)).toEqual(outcomes(a.body));
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
    const onA = await delta(t, f.token(), { device_id: 'dev-A', changes: [pl('r-dev-pl-a')] });
    const onB = await delta(t, f.token(), { device_id: 'dev-B', changes: [pl('r-dev-pl-b')] });
    expect(onA.body.applied).toEqual([{ entity_type: 'points_ledger', entity_id: 'r-dev-pl-a', version: 1 }]);
    expect(onB.body.applied).toEqual([{ entity_type: 'points_ledger', entity_id: 'r-dev-pl-b', version: 1 }]);
    expect(await ledgerCount(['r-dev-pl-a', 'r-dev-pl-b'])).toBe(2);
  });

  it('retry keys are scoped per family: the same device and change in another family is a new change', async () => {
    const g = await createFamily(t, 'alice', 'Other family');
    const entry = change({
      change_id: 'fam-cid',
      entity_type: 'points_ledger',
      entity_id: 'r-fam-pl',
      data: { userId: 'alice', delta: 9 },
      client_timestamp: ts(),
    });
    const inF = await delta(t, f.token(), { device_id: 'dev-fam', changes: [entry] });
    const inG = await delta(t, g.token(), { device_id: 'dev-fam', changes: [entry] });
    expect(inF.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-fam-pl', version: 1 }] });
    expect(inG.body).toMatchObject({ success: true, applied: [{ entity_id: 'r-fam-pl', version: 1 }] });
    expect(await ledgerCount(['r-fam-pl'], f.familyId)).toBe(1);
    expect(await ledgerCount(['r-fam-pl'], g.familyId)).toBe(1);
  });

  it('a retried conflict returns the same conflict, even after the server state moved on', async () => {
    await createTask('r-conf', { title: 'server title' });
    await delta(t, f.token('bob'), {
      device_id: 'bob-conf',
      changes: [change({ entity_id: 'r-conf', action: 'update', version: 1, data: { title: 'bob v2' }, client_timestamp: ts() })],
    });
    const stale = {
      device_id: 'phone-conf',
      changes: [
        change({ entity_id: 'r-conf', action: 'update', version: 1, data: { title: 'old' }, client_timestamp: '2020-01-01T00:00:00Z' }),
      ],
    };
    const first = await delta(t, f.token(), stale);
    expect(first.body.conflicts).toEqual([
      expect.objectContaining({
        entity_id: 'r-conf',
        resolution: 'server_wins',
        conflict_reason: 'Version mismatch',
        client_version: 1,
        server_version: 2,
      }),
    ]);
    await delta(t, f.token('bob'), {
      device_id: 'bob-conf',
      changes: [change({ entity_id: 'r-conf', action: 'update', version: 2, data: { title: 'bob v3' }, client_timestamp: ts() })],
    });
    const retry = await delta(t, f.token(), stale);
    expect(retry.status).toBe(200);
    expect(outcomes(retry.body)).toEqual(outcomes(first.body));
    expect((await taskRow('r-conf'))?.version).toBe(3);
  });

  it('a retried merge returns the same merged outcome and applies nothing again', async () => {
    await delta(t, f.token(), {
      device_id: 'setup',
      changes: [change({ entity_id: 'r-merge', data: { title: 'T', desc: 'D' }, client_timestamp: ts() })],
    });
    const tMine = ts();
    await delta(t, f.token('bob'), {
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
    const first = await delta(t, f.token(), body);
    expect(first.body.conflicts).toEqual([
      expect.objectContaining({ entity_id: 'r-merge', resolution: 'merged', rejected_fields: ['title'] }),
    ]);
    expect(first.body.applied).toEqual([expect.objectContaining({ entity_id: 'r-merge', version: 3 })]);
    const row = await taskRow('r-merge');
    expect(row?.data).toMatchObject({ title: 'bob', desc: 'newer desc' });
    const retry = await delta(t, f.token(), body);
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
    const first = await delta(t, f.token(), body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: false, applied_count: 1, error_count: 3 });
    expect(first.body.errors).toEqual([
      expect.objectContaining({ index: 1, entity_id: 'r-err-bad', code: 'validation' }),
      expect.objectContaining({ index: 2, entity_id: 'r-err-missing', code: 'not_found' }),
      expect.objectContaining({ index: 3, entity_id: 'r-err-type', code: 'unknown_entity_type' }),
    ]);
    // The missing task exists by now (created elsewhere): the retry still gets its original error.
    await createTask('r-err-missing');
    const retry = await delta(t, f.token(), body);
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
    const res = await delta(t, f.token(), { device_id: 'phone-dup', changes: [create, update, entry, create, update, entry] });
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
    const byId = await delta(t, f.token(), {
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

  it('an atomic batch that was rolled back leaves no receipt: its changes are applied when sent again', async () => {
    const good = change({ entity_id: 'r-atomic', data: { title: 'atomic' }, client_timestamp: ts() });
    const bad = change({ entity_id: 'r-atomic-missing', action: 'update', version: 3, data: { title: 'x' }, client_timestamp: ts() });
    const body = { device_id: 'phone-atomic', atomic: true, changes: [good, bad] };
    const first = await delta(t, f.token(), body);
    expect(first.body).toMatchObject({
      success: false,
      applied_count: 0,
      applied: [],
      errors: [expect.objectContaining({ index: 1, code: 'not_found' })],
    });
    const again = await delta(t, f.token(), body);
    expect(outcomes(again.body)).toEqual(outcomes(first.body));
    expect(await taskRow('r-atomic')).toBeUndefined();
    expect(
      await scalar(sql, 'SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = $2', [f.familyId, 'phone-atomic']),
    ).toBe(0);

    const fixed = await delta(t, f.token(), { device_id: 'phone-atomic', atomic: true, changes: [good] });
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
    const first = await delta(t, f.token(), body);
    expect(first.body).toMatchObject({ success: true, applied_count: 2 });
    await sql.query(`UPDATE sync_receipts SET created_at = now() - interval '29 days' WHERE family_id = $1 AND device_id = 'phone-old'`, [
      f.familyId,
    ]);
    await sql.query(`UPDATE sync_receipts SET created_at = now() - interval '31 days' WHERE family_id = $1 AND device_id = 'setup'`, [
      f.familyId,
    ]);
    const setupReceipts = await scalar(sql, `SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = 'setup'`, [
      f.familyId,
    ]);
    expect(setupReceipts).toBeGreaterThan(0);

    const purged = await t.app.get(SyncMaintenanceService).runOnce();
    expect(purged.receipts).toBe(setupReceipts);
    expect(await scalar(sql, `SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = 'phone-old'`, [f.familyId])).toBe(2);

    const retry = await delta(t, f.token(), body);
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
    const holder = await sqlClient(t, 'e2e-lock-holder');
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [f.familyId]);
      const pending = [post(t, f.token(), body), post(t, f.token(), body)];
      await waitForLockWaiters(sql, t.db.name, 2);
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

/** A batch that touches several tables, so that a partial write would show. */
function faultBatch(prefix: string, device: string) {
  return {
    device_id: device,
    changes: [
      change({ change_id: `${prefix}-1`, entity_id: `${prefix}-t1`, data: { title: 'first' }, client_timestamp: ts() }),
      change({
        change_id: `${prefix}-2`,
        entity_id: `${prefix}-t2`,
        data: { title: 'second', status: 'done', points: 20, assignees: ['dora'] },
        client_timestamp: ts(),
      }),
      change({
        change_id: `${prefix}-3`,
        entity_type: 'points_ledger',
        entity_id: `${prefix}-pl`,
        data: { userId: 'dora', delta: 50 },
        client_timestamp: ts(),
      }),
      change({
        change_id: `${prefix}-4`,
        entity_id: `${prefix}-seed`,
        action: 'update',
        version: 1,
        data: { title: 'seed updated' },
        client_timestamp: ts(),
      }),
    ],
  };
}

/** Shared checks of the fault suites. */
function faultHelpers(get: () => { t: TestApp; f: FamilyFixture; sql: Client }) {
  /** Creates `<prefix>-seed` (version 1) and returns the watermark after it. */
  async function seed(prefix: string): Promise<string> {
    const { t, f } = get();
    const res = await delta(t, f.token(), {
      device_id: 'seed-device',
      changes: [change({ entity_id: `${prefix}-seed`, data: { title: 'seed' }, client_timestamp: ts() })],
    });
    expect(res.status).toBe(200);
    return res.body.last_sync_at;
  }

  /** Nothing of the batch is stored: no rows, no receipts, no position, and a pull sees nothing. */
  async function expectNothingStored(prefix: string, device: string, watermark: string, rowsBefore: Row[], positionBefore: string) {
    const { t, f, sql } = get();
    expect(await familyRows(sql, f.familyId)).toEqual(rowsBefore);
    expect(await scalar(sql, 'SELECT count(*) FROM tasks WHERE family_id = $1 AND id LIKE $2', [f.familyId, `${prefix}-t%`])).toBe(0);
    expect(
      await scalar(sql, 'SELECT count(*) FROM points_ledger WHERE family_id = $1 AND (id = $2 OR id LIKE $3)', [
        f.familyId,
        `${prefix}-pl`,
        `%:${prefix}-t2:%`,
      ]),
    ).toBe(0);
    expect(await scalar(sql, 'SELECT count(*) FROM sync_receipts WHERE family_id = $1 AND device_id = $2', [f.familyId, device])).toBe(0);
    expect(await scalar<string>(sql, 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [f.familyId])).toBe(
      positionBefore,
    );
    const pull = await delta(t, f.token(), { device_id: 'observer', last_sync_at: watermark });
    expect(pull.status).toBe(200);
    expect(pull.body.server_changes).toEqual([]);
  }

  /** Resending the request applies it exactly once; a second resend is a pure retry. */
  async function expectResendAppliesOnce(prefix: string, body: Body, watermark: string) {
    const { t, f, sql } = get();
    const resend = await delta(t, f.token(), body);
    expect(resend.status).toBe(200);
    expect(resend.body).toMatchObject({ success: true, conflicts: [], errors: [], applied_count: 4 });
    expect(resend.body.applied).toEqual([
      expect.objectContaining({ entity_id: `${prefix}-t1`, version: 1 }),
      expect.objectContaining({ entity_id: `${prefix}-t2`, version: 1 }),
      expect.objectContaining({ entity_id: `${prefix}-pl`, version: 1 }),
      expect.objectContaining({ entity_id: `${prefix}-seed`, version: 2 }),
    ]);
    const rows = await familyRows(sql, f.familyId);
    const again = await delta(t, f.token(), body);
    expect(outcomes(again.body)).toEqual(outcomes(resend.body));
    expect(await familyRows(sql, f.familyId)).toEqual(rows);
    expect(await scalar(sql, 'SELECT count(*) FROM points_ledger WHERE family_id = $1 AND id = $2', [f.familyId, `${prefix}-pl`])).toBe(1);
    expect(
      await scalar(sql, 'SELECT count(*) FROM points_ledger WHERE family_id = $1 AND id LIKE $2', [f.familyId, `%:${prefix}-t2:%`]),
    ).toBe(1);
    const pull = await delta(t, f.token(), { device_id: 'observer', last_sync_at: watermark });
    const pulled = pull.body.server_changes.filter((c: Row) => String(c.entity_id).startsWith(prefix));
    expect(pulled.map((c: Row) => [c.entity_id, c.version])).toEqual(
      expect.arrayContaining([
        [`${prefix}-t1`, 1],
        [`${prefix}-t2`, 1],
        [`${prefix}-pl`, 1],
        [`${prefix}-seed`, 2],
      ]),
    );
  }

  /** A transient 503 (issue 16) with Retry-After and the API's JSON error body. */
  async function expectServerError(res: Response) {
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(5);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Body;
    expect(body).toMatchObject({
      statusCode: res.status,
      error: expect.any(String),
      message: expect.any(String),
      requestId: expect.any(String),
    });
    // No internals (SQL, stack) in the answer.
    expect(JSON.stringify(body)).not.toMatch(/SELECT|INSERT|family_sync_state|sync_receipts|at .*\.ts:/);
    return body;
  }

  return { seed, expectNothingStored, expectResendAppliesOnce, expectServerError };
}

describe('a fault in the middle of the transaction (PROTOCOL 2.4): 5xx, nothing stored, resend applies once', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;
  const h = faultHelpers(() => ({ t, f, sql }));

  beforeAll(async () => {
    t = await startTestApp();
    f = await createFamily(t, 'dora');
    sql = await sqlClient(t, 'e2e-faults');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('the backend is terminated while it waits for the family lock', async () => {
    const watermark = await h.seed('kl');
    const body = faultBatch('kl', 'phone-kl');
    const rowsBefore = await familyRows(sql, f.familyId);
    const positionBefore = await scalar<string>(sql, 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [f.familyId]);
    const holder = await sqlClient(t, 'e2e-lock-holder');
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [f.familyId]);
      const pending = post(t, f.token(), body);
      const [pid] = await waitForLockWaiters(sql, t.db.name);
      await sql.query('SELECT pg_terminate_backend($1)', [pid]);
      expect((await h.expectServerError(await pending)).error).toBe('database_unavailable');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    await h.expectNothingStored('kl', 'phone-kl', watermark, rowsBefore, positionBefore);
    await request(t.server).get('/health/ready').expect(200);
    await h.expectResendAppliesOnce('kl', body, watermark);
  });

  it('the backend is terminated after the rows were written (blocked on its receipts)', async () => {
    const watermark = await h.seed('kw');
    const body = faultBatch('kw', 'phone-kw');
    const rowsBefore = await familyRows(sql, f.familyId);
    const positionBefore = await scalar<string>(sql, 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [f.familyId]);
    const holder = await sqlClient(t, 'e2e-receipt-holder');
    try {
      // An uncommitted receipt with the key of the batch's last change: the request writes
      // its entity rows, its family position, and then waits on this row's lock.
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO sync_receipts (family_id, device_id, change_key, outcome) VALUES ($1, $2, $3, '{}')`, [
        f.familyId,
        'phone-kw',
        'id:kw-4',
      ]);
      const pending = post(t, f.token(), body);
      const [pid] = await waitForLockWaiters(sql, t.db.name);
      // The request is inside its transaction, in the statement that writes its entity rows,
      // its family position and its receipts (one statement of CTEs), blocked on the receipt.
      const { rows } = await sql.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = $1', [pid]);
      expect(rows[0].query).toMatch(/^WITH w0 AS \(\s*INSERT INTO tasks/);
      await sql.query('SELECT pg_terminate_backend($1)', [pid]);
      expect((await h.expectServerError(await pending)).error).toBe('database_unavailable');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    await h.expectNothingStored('kw', 'phone-kw', watermark, rowsBefore, positionBefore);
    await h.expectResendAppliesOnce('kw', body, watermark);
  });

  it('the app keeps serving after its connections were killed', async () => {
    const res = await delta(t, f.token(), {
      device_id: 'after-kill',
      changes: [change({ entity_id: 'after-kill', data: { title: 'ok' }, client_timestamp: ts() })],
    });
    expect(res.status).toBe(200);
    expect(res.body.applied).toEqual([{ entity_type: 'task', entity_id: 'after-kill', version: 1 }]);
  });
});

describe('a lock/statement timeout mid-transaction (DB_STATEMENT_TIMEOUT_MS=500): 5xx, nothing stored', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;
  const h = faultHelpers(() => ({ t, f, sql }));

  beforeAll(async () => {
    t = await startTestApp({ DB_STATEMENT_TIMEOUT_MS: '500' });
    f = await createFamily(t, 'dora');
    sql = await sqlClient(t, 'e2e-timeouts');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('the family lock is held elsewhere longer than the timeout', async () => {
    const watermark = await h.seed('tl');
    const body = faultBatch('tl', 'phone-tl');
    const rowsBefore = await familyRows(sql, f.familyId);
    const positionBefore = await scalar<string>(sql, 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [f.familyId]);
    const holder = await sqlClient(t, 'e2e-lock-holder');
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [f.familyId]);
      const started = Date.now();
      expect((await h.expectServerError(await post(t, f.token(), body))).error).toBe('database_timeout');
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
    const rowsBefore = await familyRows(sql, f.familyId);
    const positionBefore = await scalar<string>(sql, 'SELECT last_us::text FROM family_sync_state WHERE family_id = $1', [f.familyId]);
    const holder = await sqlClient(t, 'e2e-receipt-holder');
    try {
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO sync_receipts (family_id, device_id, change_key, outcome) VALUES ($1, $2, $3, '{}')`, [
        f.familyId,
        'phone-tw',
        'id:tw-3',
      ]);
      expect((await h.expectServerError(await post(t, f.token(), body))).error).toBe('database_timeout');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    await h.expectNothingStored('tw', 'phone-tw', watermark, rowsBefore, positionBefore);
    await h.expectResendAppliesOnce('tw', body, watermark);
  });
});
