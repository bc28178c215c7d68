import { request as httpRequest } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Client } from 'pg';
import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, delta, FamilyFixture } from '../support/sync-fixtures';
import { sqlClient } from '../support/db-state';

/**
 * PROTOCOL 3 and the HTTP envelope of POST /sync/delta: metrics, devices, rate limit,
 * body limit, gzip both ways, the OpenAPI description and the per-sync log line.
 */

type Body = Record<string, unknown>;

let clock = Date.parse('2021-06-01T00:00:00.000Z');
const ts = () => new Date((clock += 1000)).toISOString();

async function eventually(assertion: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** The value of one Prometheus sample: `name` with exactly these labels (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[k] = v;
    const wanted = Object.entries(labels);
    if (wanted.length !== Object.keys(found).length || wanted.some(([k, v]) => found[k] !== v)) continue;
    return Number(m[3]);
  }
  return 0;
}

const metricsText = async (t: TestApp) => (await request(t.server).get('/metrics').expect(200)).text;

/** A raw HTTP exchange (no automatic decompression): status, headers and body bytes. */
function rawPost(t: TestApp, path: string, headers: Record<string, string>, body: Buffer | string) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = httpRequest(
      `${t.baseUrl}${path}`,
      { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('sync operations (PROTOCOL 3)', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;

  beforeAll(async () => {
    t = await startTestApp();
    f = await createFamily(t, 'alice');
    await f.addMember('bob');
    sql = await sqlClient(t, 'e2e-operations');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  describe('GET /metrics', () => {
    it('counts sync requests, durations, changes by outcome, conflicts and batch sizes', async () => {
      const before = await metricsText(t);
      const seed = await delta(t, f.token(), {
        device_id: 'm-seed',
        changes: [change({ entity_id: 'm-t1', data: { title: 'M' }, client_timestamp: ts() })],
      });
      const seed2 = await delta(t, f.token(), {
        device_id: 'm-seed',
        changes: [change({ entity_id: 'm-t1', action: 'update', version: 1, data: { title: 'M2' }, client_timestamp: ts() })],
      });
      expect([seed.status, seed2.status]).toEqual([200, 200]);

      // 6 answered syncs (batch sizes 1, 1, 2, 0, 1, 1) and one malformed request.
      const a = await delta(t, f.token(), {
        device_id: 'm-1',
        changes: [
          change({ entity_id: 'm-t2', data: { title: 'two' }, client_timestamp: ts() }),
          change({ entity_id: 'm-t3', data: { title: 'three' }, client_timestamp: ts() }),
        ],
      });
      const b = await delta(t, f.token(), { device_id: 'm-1' });
      const c = await delta(t, f.token(), {
        device_id: 'm-2',
        changes: [
          change({ entity_id: 'm-t1', action: 'update', version: 1, data: { title: 'stale' }, client_timestamp: '2000-01-01T00:00:00Z' }),
        ],
      });
      const d = await delta(t, f.token(), {
        device_id: 'm-2',
        changes: [change({ entity_id: 'm-t4', data: { title: 'x', unknownField: 1 }, client_timestamp: ts() })],
      });
      const bad = await delta(t, f.token(), { device_id: 'm-2', changes: [{ entity_type: 'task', entity_id: 'm-t5', action: 'explode' }] });
      expect([a.status, b.status, c.status, d.status, bad.status]).toEqual([200, 200, 200, 200, 400]);
      expect(a.body.applied_count).toBe(2);
      expect(c.body.conflicts).toEqual([expect.objectContaining({ resolution: 'server_wins' })]);
      expect(d.body.errors).toEqual([expect.objectContaining({ code: 'validation' })]);

      let after = '';
      await eventually(async () => {
        after = await metricsText(t);
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
      const before = await metricsText(t);
      await request(t.server).post('/sync/delta').send({ device_id: 'x' }).expect(401);
      const f = await createFamily(t, 'alice');
      const huge = JSON.stringify({ device_id: 'x', pad: 'p'.repeat(6 * 1024 * 1024) });
      await request(t.server).post('/sync/delta').set(bearer(f.token())).set('Content-Type', 'application/json').send(huge).expect(413);
      await eventually(async () => {
        const after = await metricsText(t);
        const counted = (status: string) =>
          sample(after, 'sync_requests_total', { status }) - sample(before, 'sync_requests_total', { status });
        expect([counted('401'), counted('413')]).toEqual([1, 1]);
      });
    });
  });

  describe('GET /sync/devices', () => {
    it("lists the family's devices with sync_count and last_seen_at, and only the caller's family", async () => {
      const fam = await createFamily(t, 'dev-owner', 'Devices family');
      await fam.addMember('dev-kid');
      const other = await createFamily(t, 'stranger', 'Other family');
      for (let i = 0; i < 3; i++) {
        expect(
          (
            await delta(t, fam.token(), {
              device_id: 'phone',
              changes: i === 0 ? [change({ entity_id: 'dv-1', data: { title: 'x' }, client_timestamp: ts() })] : [],
            })
          ).status,
        ).toBe(200);
      }
      expect((await delta(t, fam.token('dev-kid'), { device_id: 'tablet' })).status).toBe(200);
      // The same device id in another family is another device.
      expect((await delta(t, other.token(), { device_id: 'phone' })).status).toBe(200);
      expect((await delta(t, other.token(), { device_id: 'phone' })).status).toBe(200);

      const res = await request(t.server)
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

      const theirs = await request(t.server).get('/sync/devices').set(bearer(other.token())).expect(200);
      expect(theirs.body).toEqual([expect.objectContaining({ device_id: 'phone', user_id: 'stranger', sync_count: 2 })]);

      // Another sync moves last_seen_at and the count.
      await new Promise((r) => setTimeout(r, 5));
      await delta(t, fam.token(), { device_id: 'phone' }).expect(200);
      const again = await request(t.server).get('/sync/devices').set(bearer(fam.token())).expect(200);
      const phone = again.body.find((d: Body) => d.device_id === 'phone');
      expect(phone.sync_count).toBe(4);
      expect(Date.parse(phone.last_seen_at)).toBeGreaterThan(Date.parse(phoneBefore.last_seen_at));
      expect(again.body[0].device_id).toBe('phone');
    });

    it('needs a token and a family', async () => {
      await request(t.server).get('/sync/devices').expect(401);
      await request(t.server)
        .get('/sync/devices')
        .set(bearer(mintToken({ sub: 'alice' })))
        .expect(403);
      await request(t.server)
        .get('/sync/devices')
        .set(bearer(mintToken({ sub: 'mallory', familyId: f.familyId })))
        .expect(403);
    });
  });

  describe('request bodies', () => {
    it('a body over SYNC_MAX_BODY (default 5 MB) is 413 with a JSON body, and nothing is applied', async () => {
      const huge = JSON.stringify({
        device_id: 'big',
        changes: [change({ entity_id: 'too-big', data: { title: 'big', desc: 'x'.repeat(5.5 * 1024 * 1024) }, client_timestamp: ts() })],
      });
      const res = await request(t.server).post('/sync/delta').set(bearer(f.token())).set('content-type', 'application/json').send(huge);
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toMatchObject({ statusCode: 413, error: expect.any(String), message: expect.any(String) });
      expect((await sql.query('SELECT 1 FROM tasks WHERE id = $1', ['too-big'])).rowCount).toBe(0);
    });

    it('the limit applies to the decompressed body: a small gzip that inflates past it is 413', async () => {
      const inflated = JSON.stringify({
        device_id: 'bomb',
        changes: [change({ entity_id: 'gz-bomb', data: { title: 'bomb', desc: 'y'.repeat(6 * 1024 * 1024) }, client_timestamp: ts() })],
      });
      const zipped = gzipSync(inflated);
      expect(zipped.length).toBeLessThan(100 * 1024);
      const res = await fetch(`${t.baseUrl}/sync/delta`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...bearer(f.token()) },
        body: zipped,
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ statusCode: 413 });
      expect((await sql.query('SELECT 1 FROM tasks WHERE id = $1', ['gz-bomb'])).rowCount).toBe(0);
    });

    it('accepts a gzip request body (Content-Encoding: gzip)', async () => {
      const body = { device_id: 'gz-phone', changes: [change({ entity_id: 'gz-1', data: { title: 'zipped' }, client_timestamp: ts() })] };
      const res = await fetch(`${t.baseUrl}/sync/delta`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...bearer(f.token()) },
        body: gzipSync(JSON.stringify(body)),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ success: true, applied: [{ entity_type: 'task', entity_id: 'gz-1', version: 1 }] });
      const row = await sql.query('SELECT data FROM tasks WHERE family_id = $1 AND id = $2', [f.familyId, 'gz-1']);
      expect(row.rows[0].data.title).toBe('zipped');
    });

    it('a corrupt gzip body is a 400, not a 5xx', async () => {
      const res = await rawPost(
        t,
        '/sync/delta',
        { 'content-type': 'application/json', 'content-encoding': 'gzip', ...bearer(f.token()) },
        Buffer.from('not gzip at all'),
      );
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body.toString())).toMatchObject({ statusCode: 400 });
    });

    it('compresses a large response when the client accepts gzip, and only then', async () => {
      const changes = Array.from({ length: 40 }, (_, i) =>
        change({
          entity_id: `gz-many-${i}`,
          data: { title: `A reasonably long task title number ${i}`, desc: 'lorem ipsum '.repeat(10) },
          client_timestamp: ts(),
        }),
      );
      expect((await delta(t, f.token(), { device_id: 'gz-writer', changes })).status).toBe(200);
      const pull = JSON.stringify({ device_id: 'gz-reader' });
      const headers = { 'content-type': 'application/json', ...bearer(f.token()) };

      const zipped = await rawPost(t, '/sync/delta', { ...headers, 'accept-encoding': 'gzip' }, pull);
      expect(zipped.status).toBe(200);
      expect(zipped.headers['content-encoding']).toBe('gzip');
      const inflated = gunzipSync(zipped.body);
      expect(zipped.body.length).toBeLessThan(inflated.length);
      const body = JSON.parse(inflated.toString());
      expect(body.server_changes.filter((c: Body) => String(c.entity_id).startsWith('gz-many-'))).toHaveLength(40);

      const plain = await rawPost(t, '/sync/delta', headers, JSON.stringify({ device_id: 'gz-reader' }));
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(plain.body.toString()).server_changes.length).toBe(body.server_changes.length);
    });
  });

  describe('GET /docs-json', () => {
    it('describes POST /sync/delta with its request schema and the examples', async () => {
      const res = await request(t.server).get('/docs-json').expect(200);
      const doc = res.body;
      const resolve = (schema: Body): Body => {
        const ref = schema.$ref as string | undefined;
        return ref ? doc.components.schemas[ref.replace('#/components/schemas/', '')] : schema;
      };
      const op = doc.paths['/sync/delta']?.post;
      expect(op).toBeDefined();
      expect(op.security).toEqual(expect.arrayContaining([expect.objectContaining({ bearer: expect.anything() })]));
      const content = op.requestBody.content['application/json'];
      const schema = resolve(content.schema);
      expect(Object.keys(schema.properties as Body)).toEqual(
        expect.arrayContaining(['device_id', 'changes', 'last_sync_at', 'atomic', 'limit']),
      );
      expect(schema.required).toEqual(expect.arrayContaining(['device_id']));
      expect(schema.required).not.toEqual(expect.arrayContaining(['changes']));
      const props = schema.properties as Record<string, Body>;
      expect(props.limit).toMatchObject({ minimum: 1, maximum: 5000 });
      expect(props.atomic).toMatchObject({ type: 'boolean' });
      // From SYNC_MAX_BATCH (default 500), not a constant of the decorator.
      expect(props.changes).toMatchObject({ type: 'array', maxItems: 500 });
      const item = resolve((props.changes.items ?? {}) as Body);
      expect(Object.keys(item.properties as Body)).toEqual(
        expect.arrayContaining(['entity_type', 'entity_id', 'action', 'data', 'version', 'client_timestamp', 'change_id']),
      );
      expect((item.properties as Record<string, Body>).action.enum).toEqual(['create', 'update', 'delete']);

      expect(Object.keys(content.examples)).toEqual(expect.arrayContaining(['simpleSync', 'versionMismatch', 'doneWins']));
      for (const example of Object.values(content.examples) as { summary: string; value: Body }[]) {
        expect(example.summary).toEqual(expect.any(String));
        expect(example.value).toMatchObject({ device_id: expect.any(String), changes: expect.any(Array) });
      }
      expect(op.responses['200']).toBeDefined();
      expect(op.responses['429']).toBeDefined();
      const responseSchema = resolve(op.responses['200'].content['application/json'].schema);
      expect(Object.keys(responseSchema.properties as Body)).toEqual(
        expect.arrayContaining([
          'server_changes',
          'conflicts',
          'errors',
          'applied',
          'last_sync_at',
          'has_more',
          'resync_required',
          'success',
          'applied_count',
          'error_count',
        ]),
      );
      expect(doc.paths['/sync/devices']?.get).toBeDefined();
    });

    it('the documented examples are accepted by the endpoint as they are', async () => {
      const doc = (await request(t.server).get('/docs-json').expect(200)).body;
      const examples = doc.paths['/sync/delta'].post.requestBody.content['application/json'].examples as Record<string, { value: Body }>;
      const ex = await createFamily(t, 'example-user', 'Examples');
      for (const [name, { value }] of Object.entries(examples)) {
        const res = await delta(t, ex.token(), value);
        expect({ name, status: res.status }).toEqual({ name, status: 200 });
      }
    });
  });
});

describe('sync rate limit (SYNC_RATE_LIMIT=3)', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '3' });
    f = await createFamily(t, 'alice');
    await f.addMember('bob');
    sql = await sqlClient(t, 'e2e-operations');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('the 4th POST /sync/delta of a user within a minute is 429 with Retry-After; another user of the family is not limited', async () => {
    const before = await metricsText(t);
    for (const device of ['a-1', 'a-2', 'a-1']) {
      expect((await delta(t, f.token(), { device_id: device })).status).toBe(200);
    }
    // Per user, whatever the device.
    const limited = await delta(t, f.token(), {
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
    expect((await sql.query('SELECT 1 FROM tasks WHERE id = $1', ['rl-1'])).rowCount).toBe(0);
    expect((await delta(t, f.token(), { device_id: 'a-1' })).status).toBe(429);

    for (let i = 0; i < 3; i++) {
      const bob = await delta(t, f.token('bob'), {
        device_id: 'b-1',
        changes: [change({ entity_id: `rl-bob-${i}`, data: { title: 'bob' }, client_timestamp: ts() })],
      });
      expect(bob.status).toBe(200);
    }
    expect((await delta(t, f.token('bob'), { device_id: 'b-1' })).status).toBe(429);

    // Reads are not counted.
    await request(t.server).get('/sync/devices').set(bearer(f.token())).expect(200);
    await eventually(async () => {
      const after = await metricsText(t);
      expect(sample(after, 'sync_requests_total', { status: '429' }) - sample(before, 'sync_requests_total', { status: '429' })).toBe(3);
    });
  });
});

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
