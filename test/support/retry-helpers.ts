import { Client } from 'pg';
import { bearer } from '@app/testing';
import { startTestApp, TestApp } from './test-app';
import { change, createFamily, delta, FamilyFixture } from './sync-fixtures';
import { sqlClient } from './db-state';

export type Row = Record<string, unknown>;
export type Body = Record<string, unknown>;

/** The part of a response that is the outcome of its changes (server_changes excluded). */
export const outcomes = (body: Body) => ({
  applied: body.applied,
  conflicts: body.conflicts,
  errors: body.errors,
  applied_count: body.applied_count,
  error_count: body.error_count,
  success: body.success,
});

let clock = Date.parse('2030-01-01T00:00:00.000Z') - 10 * 365 * 86_400_000;
/** Distinct, increasing client timestamps in the past (so never clamped). */
export const ts = () => new Date((clock += 1000)).toISOString();

/** POST /sync/delta with fetch (starts at once, unlike a lazy supertest request). */
export function post(t: TestApp, token: string, body: Body): Promise<Response> {
  return fetch(`${t.baseUrl}/sync/delta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify(body),
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Backends of the app's pool (application_name delta-sync) waiting on a lock in the suite's database. */
export async function lockWaiters(sql: Client, dbName: string): Promise<number[]> {
  const { rows } = await sql.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
     WHERE datname = $1 AND application_name = 'delta-sync' AND state = 'active' AND wait_event_type = 'Lock'`,
    [dbName],
  );
  return rows.map((r) => r.pid);
}

export const waitForLockWaiters = (sql: Client, dbName: string, n = 1) =>
  waitFor(`${n} delta-sync backend(s) waiting on a lock`, async () => {
    const pids = await lockWaiters(sql, dbName);
    return pids.length >= n ? pids : undefined;
  });

/** Every synced row of a family, for "nothing changed" comparisons. */
export async function familyRows(sql: Client, familyId: string): Promise<Row[]> {
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

export async function scalar<T = number>(sql: Client, text: string, params: unknown[]): Promise<T> {
  const { rows } = await sql.query(text, params);
  const value = Object.values(rows[0])[0];
  return (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value) as T;
}

/**
 * The exactly-once suite (sync-retries*.e2e-spec.ts): its own app, a family of alice and bob,
 * and a SQL session of the test itself (not the app's pool) for verifications and fault
 * injection, started before the tests and closed after, and the helpers on them. Call it
 * inside the suite's describe.
 */
export function retrySuite() {
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

  return { createTask, taskRow, ledgerCount, familyPosition, app: () => t, family: () => f, sql: () => sql };
}

/** A batch that touches several tables, so that a partial write would show. */
export function faultBatch(prefix: string, device: string) {
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

/**
 * A fault suite (sync-retries-faults.e2e-spec.ts): its own app started with `env`, a family of
 * dora and a SQL session named `applicationName`, closed after the tests, and the shared checks
 * on them. Call it inside the suite's describe.
 */
export function faultSuite(applicationName: string, env: Record<string, string> = {}) {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;
  const h = faultHelpers(() => ({ t, f, sql }));

  beforeAll(async () => {
    t = await startTestApp(env);
    f = await createFamily(t, 'dora');
    sql = await sqlClient(t, applicationName);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  return { ...h, app: () => t, family: () => f, sql: () => sql };
}
