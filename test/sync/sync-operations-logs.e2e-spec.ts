import { Client } from 'pg';
import request from 'supertest';
import { bearer } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, delta, FamilyFixture } from '../support/sync-fixtures';
import { sqlClient } from '../support/db-state';
import { Body, eventually, ts } from '../support/operations-helpers';

/**
 * PROTOCOL 3, one of four suites (sync-operations*.e2e-spec.ts, helpers in
 * test/support/operations-helpers.ts): the per-sync log line.
 *
 * A file of its own: nestjs-pino 5 builds one root logger (one pino-http instance) per module
 * registry, on first use, from the first LoggerModule's params, and every later app of the
 * same registry (for Jest: of the same test file) shares it. An app started earlier in the
 * file (TEST_LOG_LEVEL, silent by default) would decide the level and the stream here.
 */
describe('one JSON log line per sync, without token or entity data (PROTOCOL 3)', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;
  let captured: string[] = [];
  let spy: jest.SpyInstance;
  const TITLE = 'Zanzibar-Secret-Title-7f3a9c';

  beforeAll(async () => {
    // Before the app exists: pino writes to process.stdout (and not to fd 1 directly) once
    // process.stdout.write has been replaced.
    const original = process.stdout.write.bind(process.stdout);
    spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (text.startsWith('{')) {
        captured.push(text);
        const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        cb?.();
        return true;
      }
      return original(chunk as string, ...(rest as []));
    }) as typeof process.stdout.write);
    t = await startTestApp({ LOG_LEVEL: 'info', DB_STATEMENT_TIMEOUT_MS: '1000' });
    f = await createFamily(t, 'alice');
    sql = await sqlClient(t, 'e2e-operations');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
    spy?.mockRestore();
  });

  const lines = () =>
    captured
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Body);

  it('logs msg "sync" with reqId, user, family, device, counts and duration, and no token or data', async () => {
    const token = f.token();
    await delta(t, token, {
      device_id: 'log-seed',
      changes: [
        change({ entity_id: 'log-0', data: { title: TITLE }, client_timestamp: ts() }),
        change({ entity_id: 'log-0', action: 'update', version: 1, data: { desc: TITLE }, client_timestamp: ts() }),
      ],
    }).expect(200);
    captured = [];
    const sentAt = performance.now();
    const res = await request(t.server)
      .post('/sync/delta')
      .set(bearer(token))
      .set('X-Request-Id', 'log-req-0001')
      .send({
        device_id: 'log-device',
        changes: [
          change({ entity_id: 'log-1', data: { title: TITLE, desc: `${TITLE} description` }, client_timestamp: ts() }),
          change({
            entity_id: 'log-0',
            action: 'update',
            version: 1,
            data: { title: `${TITLE}-stale` },
            client_timestamp: '2000-01-01T00:00:00Z',
          }),
          change({ entity_id: 'log-2', data: { title: TITLE, bogus: TITLE }, client_timestamp: ts() }),
        ],
      })
      .expect(200);
    const roundTripMs = performance.now() - sentAt;
    expect(res.body).toMatchObject({ applied_count: 1, error_count: 1 });
    expect(res.body.conflicts).toHaveLength(1);

    await eventually(async () => expect(lines().filter((l) => l.msg === 'sync')).toHaveLength(1));
    const [line] = lines().filter((l) => l.msg === 'sync');
    expect(line).toMatchObject({
      reqId: 'log-req-0001',
      userId: 'alice',
      familyId: f.familyId,
      deviceId: 'log-device',
      changes: 3,
      applied: 1,
      conflicts: 1,
      errors: 1,
      durationMs: expect.any(Number),
    });
    // In milliseconds, of this request: more than nothing, and within the round trip the test saw.
    expect(line.durationMs as number).toBeGreaterThan(0);
    expect(line.durationMs as number).toBeLessThanOrEqual(roundTripMs + 0.1);
    const text = captured.join('');
    expect(text).not.toContain(token);
    expect(text).not.toMatch(/bearer\s+ey/i);
    expect(text).not.toContain(TITLE);
  });

  it('writes exactly one sync line per sync, each with its own request id', async () => {
    captured = [];
    for (const id of ['log-req-a', 'log-req-b', 'log-req-c']) {
      await request(t.server)
        .post('/sync/delta')
        .set(bearer(f.token()))
        .set('X-Request-Id', id)
        .send({ device_id: 'log-device' })
        .expect(200);
    }
    await eventually(async () => expect(lines().filter((l) => l.msg === 'sync')).toHaveLength(3));
    expect(
      lines()
        .filter((l) => l.msg === 'sync')
        .map((l) => l.reqId),
    ).toEqual(['log-req-a', 'log-req-b', 'log-req-c']);
  });

  it('a failed sync (5xx) logs no entity data either', async () => {
    // An uncommitted row with the same id: the request's write waits for it until lock_timeout.
    const holder = new Client({ connectionString: t.db.url, application_name: 'e2e-row-holder' });
    await holder.connect();
    captured = [];
    let status: number | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query(
        `INSERT INTO tasks (family_id, id, version, data, client_us, created_us, changed_us) VALUES ($1, 'log-held', 1, '{"title":"held"}', 0, 0, 0)`,
        [f.familyId],
      );
      const res = await request(t.server)
        .post('/sync/delta')
        .set(bearer(f.token()))
        .set('X-Request-Id', 'log-req-fail')
        .send({
          device_id: 'log-device',
          changes: [change({ entity_id: 'log-held', data: { title: TITLE, desc: TITLE }, client_timestamp: ts() })],
        });
      status = res.status;
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    expect(status).toBe(503);
    await eventually(async () => expect(lines().some((l) => l.reqId === 'log-req-fail' || l.requestId === 'log-req-fail')).toBe(true));
    const text = captured.join('');
    expect(text).not.toContain(TITLE);
    expect(text).not.toContain(f.token());
  });
});
