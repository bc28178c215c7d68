import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { bearer, mintToken } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';

describe('platform: health, metrics, errors, limits', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_MAX_BODY: '64kb' });
  });
  afterAll(() => t?.close());

  it('GET /health/live answers 200 without a token', async () => {
    const res = await request(t.server).get('/health/live').expect(200);
    expect(res.body.status).toBe('ok');
  });

  it('GET /health/ready checks the database and the migrations', async () => {
    const res = await request(t.server).get('/health/ready').expect(200);
    // terminus 12 adds the ping's time (ms) to the database check.
    expect(res.body.details).toEqual({
      database: { status: 'up', responseTime: expect.any(Number) },
      migrations: { status: 'up' },
    });
  });

  it('ready turns 503 while the database refuses connections and 200 again when it is back, without a restart', async () => {
    await t.db.admin(`ALTER DATABASE "${t.db.name}" ALLOW_CONNECTIONS false`);
    await t.db.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [t.db.name]);
    try {
      const down = await request(t.server).get('/health/ready').expect(503);
      expect(down.body.status).toBe('error');
      expect(down.body.details.database.status).toBe('down');
      await request(t.server).get('/health/live').expect(200);
    } finally {
      await t.db.admin(`ALTER DATABASE "${t.db.name}" ALLOW_CONNECTIONS true`);
    }
    const up = await request(t.server).get('/health/ready').expect(200);
    expect(up.body.details.database.status).toBe('up');
  });

  it('ready reports pending migrations as down', async () => {
    const db = t.app.get(DataSource);
    const [[row]] = await db.query('DELETE FROM migrations WHERE id = (SELECT max(id) FROM migrations) RETURNING timestamp, name');
    try {
      const res = await request(t.server).get('/health/ready').expect(503);
      expect(res.body.details.migrations).toEqual({ status: 'down', pending: [row.name] });
    } finally {
      await db.query('INSERT INTO migrations (timestamp, name) VALUES ($1, $2)', [row.timestamp, row.name]);
    }
    await request(t.server).get('/health/ready').expect(200);
  });

  it('GET /metrics serves Prometheus text with the process defaults', async () => {
    const res = await request(t.server).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(res.text).toMatch(/^# HELP process_cpu_user_seconds_total /m);
    expect(res.text).toMatch(/^# TYPE nodejs_heap_size_used_bytes gauge$/m);
    expect(res.text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('answers errors as JSON with a request id, echoing a well-formed X-Request-Id', async () => {
    const res = await request(t.server).get('/families/x/members').set('X-Request-Id', 'req-123').expect(401);
    expect(res.headers['x-request-id']).toBe('req-123');
    expect(res.body).toEqual({ statusCode: 401, error: 'unauthorized', message: 'missing bearer token', requestId: 'req-123' });
  });

  it('replaces a malformed X-Request-Id with its own', async () => {
    const res = await request(t.server).get('/health/live').set('X-Request-Id', 'bad id with spaces').expect(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers', async () => {
    const res = await request(t.server).get('/health/live').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('rejects invalid JSON with a 400 JSON body', async () => {
    const res = await request(t.server)
      .post('/families')
      .set(bearer(mintToken({ sub: 'alice' })))
      .set('Content-Type', 'application/json')
      .send('{"name":')
      .expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'bad_request' });
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('rejects a body over the limit with 413, also when it only grows that large when inflated', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) });
    const plain = await request(t.server)
      .post('/families')
      .set(bearer(mintToken({ sub: 'alice' })))
      .set('Content-Type', 'application/json')
      .send(big);
    expect(plain.status).toBe(413);
    expect(plain.body).toMatchObject({ statusCode: 413, error: 'payload_too_large' });
    const zipped = gzipSync(big);
    expect(zipped.length).toBeLessThan(64 * 1024);
    const inflated = await postGzip(big);
    expect(inflated.status).toBe(413);
    expect(await inflated.json()).toMatchObject({ statusCode: 413, error: 'payload_too_large' });
  });

  // supertest re-serialises Buffers sent as JSON, so compressed bodies go through fetch.
  const postGzip = (json: string, encoding = 'gzip', body: Buffer = gzipSync(json)) =>
    fetch(`${t.baseUrl}/families`, {
      method: 'POST',
      headers: { ...bearer(mintToken({ sub: 'alice' })), 'Content-Type': 'application/json', 'Content-Encoding': encoding },
      body,
    });

  it('answers 400 to a body that is not what its Content-Encoding says', async () => {
    const res = await postGzip('', 'gzip', Buffer.from('{"name":"not zipped"}'));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, message: 'request body is not valid for its Content-Encoding' });
  });

  it('accepts a gzip request body', async () => {
    const res = await postGzip(JSON.stringify({ name: 'Zipped' }));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: 'Zipped', role: 'owner' });
  });

  it('rejects unknown fields and names the problem', async () => {
    const res = await request(t.server)
      .post('/families')
      .set(bearer(mintToken({ sub: 'alice' })))
      .send({ name: 'ok', admin: true })
      .expect(400);
    expect(res.body.message).toContain('property admin should not exist');
  });

  it('serves the OpenAPI description at /docs-json and Swagger UI at /docs', async () => {
    const json = await request(t.server).get('/docs-json').expect(200);
    expect(Object.keys(json.body.paths)).toEqual(expect.arrayContaining(['/families', '/families/{id}/members', '/health/ready']));
    await request(t.server).get('/docs').expect(200);
  });
});
