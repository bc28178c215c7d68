import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { Logger } from 'nestjs-pino';
import { RouteTable } from '../../apps/api/src/auth/route-table';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** `{"changes":[{},{},...]}` of about `bytes` bytes, gzipped (4.8 MB inflate from ~5 KB). */
function gzipBomb(bytes: number): Buffer {
  const count = Math.floor((bytes - 14) / 3);
  return gzipSync(`{"changes":[${'{},'.repeat(count)}{}]}`, { level: 9 });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw POST (supertest would not send a pre-compressed body with its own Content-Encoding). */
function postGzip(t: TestApp, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const { port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': body.length, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    // The server may answer and close before it has read the body.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    req.end(body);
  });
}

describe('auth before the body: an unauthenticated request is refused before its body is inflated or parsed', () => {
  const bomb = gzipBomb(4.8 * 1024 * 1024);
  let t: TestApp;
  let f: FamilyFixture;

  beforeAll(async () => {
    t = await startTestApp();
    f = await createFamily(t);
  });
  afterAll(() => t?.close());

  it('the bomb is ~5 KB on the wire and ~4.8 MB inflated', () => {
    expect(bomb.length).toBeLessThan(8 * 1024);
  });

  it('30 parallel unauthenticated gzip bombs: all 401 within 1 s, RSS grows by less than 50 MB', async () => {
    await postGzip(t, '/sync/delta', bomb); // warm-up: lazy route table, JIT
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 30 }, () => postGzip(t, '/sync/delta', bomb)));
    const elapsedMs = performance.now() - started;
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 ** 2;
    process.stdout.write(`30 unauthenticated gzip bombs: ${elapsedMs.toFixed(0)} ms, RSS +${grownMb.toFixed(1)} MB\n`);
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({
        statusCode: 401,
        error: 'unauthorized',
        message: 'missing bearer token',
        requestId: expect.any(String),
      });
      expect(answer.headers.connection).toBe('close');
    }
    expect(elapsedMs).toBeLessThan(1000);
    expect(grownMb).toBeLessThan(50);
  });

  it('a bomb with an invalid token is refused the same way, with the reason, and one warn line says so', async () => {
    const warn = jest.spyOn(t.app.get(Logger), 'warn');
    const answer = await postGzip(t, '/sync/delta', bomb, {
      ...bearer(mintToken({ sub: 'alice' }, {}, 'x'.repeat(40))),
      'X-Request-Id': 'bomb-1',
    });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ message: 'invalid signature' });
    expect(answer.headers.connection).toBe('close');
    expect(warn).toHaveBeenCalledWith(
      { reqId: 'bomb-1', method: 'POST', url: '/sync/delta', status: 401, reason: 'invalid signature' },
      'refused before the body',
      'Auth',
    );
    warn.mockRestore();
  });

  it('with a valid token the body is read: the inflated 4.8 MB is parsed and refused as invalid (400)', async () => {
    const answer = await postGzip(t, '/sync/delta', bomb, bearer(f.token()));
    expect(answer.status).toBe(400);
    process.stdout.write(`valid token, 4.8 MB inflated: ${answer.status} ${answer.body.slice(0, 200)}\n`);
  });

  it('with a valid token a body over the limit once inflated is 413', async () => {
    const answer = await postGzip(t, '/sync/delta', gzipBomb(6 * 1024 * 1024), bearer(f.token()));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 413, message: 'request body is larger than the limit' });
  });

  it('a valid token on an ordinary request still works: the guard accepts the caller verified before the body', async () => {
    const res = await request(t.server).get(`/families/${f.familyId}/members`).set(bearer(f.token())).expect(200);
    expect(res.body).toEqual([{ userId: 'alice', role: 'owner', joinedAt: expect.any(String) }]);
  });

  // POST /demo/token (a public route with a body) exists only in development: test/demo.e2e-spec.ts.
  it('@Public() routes and the docs stay open without a token', async () => {
    await request(t.server).get('/health/live').expect(200);
    await request(t.server).head('/health/live').expect(200);
    await request(t.server).get('/metrics').expect(200);
    await request(t.server).get('/docs-json').expect(200);
  });

  it('the public routes are read from the @Public() metadata: every public controller route and nothing else', () => {
    const routes = t.app.get(RouteTable).list();
    const named = (isPublic: boolean) => routes.filter((r) => r.isPublic === isPublic).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(named(true)).toEqual(expect.arrayContaining(['GET /health/live', 'GET /health/ready', 'GET /metrics']));
    expect(named(true).filter((r) => r.includes('/sync') || r.includes('/families'))).toEqual([]);
    expect(named(false)).toEqual(expect.arrayContaining(['POST /sync/delta', 'GET /sync/stream', 'POST /families']));
  });

  it('a path no controller handles is 404 before its body is read, with or without a token', async () => {
    const started = performance.now();
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, () => postGzip(t, '/no/such/route', bomb)),
      postGzip(t, '/no/such/route', bomb, bearer(f.token())),
    ]);
    const elapsedMs = performance.now() - started;
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 404, error: 'not_found', message: 'Cannot POST /no/such/route' });
    }
    expect(elapsedMs).toBeLessThan(1000);
  });
});
