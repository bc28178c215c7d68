import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { startTestApp, TestApp } from '../support/test-app';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import { wsUrl } from '../support/realtime-clients';

const ALLOWED = 'https://app.example.com';
const OTHER = 'https://evil.example.net';
const CORS_HEADERS = /^access-control-/i;

const corsHeadersOf = (res: Response) => [...res.headers.keys()].filter((h) => CORS_HEADERS.test(h));

/** PROTOCOL 3: browser apps on other origins (CORS_ORIGINS). */
describe('CORS', () => {
  let t: TestApp;
  let f: FamilyFixture;

  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: `${ALLOWED},http://localhost:5173` });
    f = await createFamily(t);
  });
  afterAll(() => t.close());

  const preflight = (path: string, origin: string, method = 'POST') =>
    fetch(`${t.baseUrl}${path}`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': method,
        'Access-Control-Request-Headers': 'authorization,content-type,content-encoding',
      },
    });

  it.each(['/sync/delta', '/families', `/sync/stream?device_id=d`, '/health/ready'])(
    'answers the preflight of an allowed origin on %s with 204 and the headers',
    async (path) => {
      const res = await preflight(path, ALLOWED, path.startsWith('/sync/stream') || path.startsWith('/health') ? 'GET' : 'POST');
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(res.headers.get('access-control-allow-headers')).toBe('Authorization,Content-Type,Content-Encoding');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-max-age')).toBe('7200');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')).toContain('Origin');
    },
  );

  it('gives another origin no CORS header at all, on the preflight and on the request', async () => {
    expect(corsHeadersOf(await preflight('/sync/delta', OTHER))).toEqual([]);
    const res = await fetch(`${t.baseUrl}/sync/delta`, {
      method: 'POST',
      headers: { Origin: OTHER, Authorization: `Bearer ${f.token()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ device_id: 'browser' }),
    });
    expect(res.status).toBe(200);
    expect(corsHeadersOf(res)).toEqual([]);
  });

  it('marks an actual POST /sync/delta from an allowed origin, exposing Retry-After and X-Request-Id', async () => {
    const res = await fetch(`${t.baseUrl}/sync/delta`, {
      method: 'POST',
      headers: { Origin: ALLOWED, Authorization: `Bearer ${f.token()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ device_id: 'browser' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-expose-headers')).toBe('Retry-After,X-Request-Id');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    // Errors too: a browser script must be able to read a 401.
    const denied = await fetch(`${t.baseUrl}/sync/delta`, { method: 'POST', headers: { Origin: ALLOWED } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  describe('/sync/ws', () => {
    const upgrade = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(wsUrl(t), { headers });
        socket.once('open', () => (socket.close(), resolve(101)));
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.once('error', reject);
      });

    it('refuses an upgrade from another origin with 403, before any message', async () => {
      expect(await upgrade({ Origin: OTHER })).toBe(403);
    });

    it('accepts an allowed origin, and clients without Origin', async () => {
      expect(await upgrade({ Origin: ALLOWED })).toBe(101);
      expect(await upgrade({})).toBe(101);
    });
  });
});

describe('CORS by default (CORS_ORIGINS empty)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('sends no CORS header; upgrades from other origins are refused, same-origin pages accepted', async () => {
    const res = await fetch(`${t.baseUrl}/sync/delta`, {
      method: 'OPTIONS',
      headers: { Origin: ALLOWED, 'Access-Control-Request-Method': 'POST' },
    });
    expect(corsHeadersOf(res)).toEqual([]);
    const health = await fetch(`${t.baseUrl}/health/live`, { headers: { Origin: ALLOWED } });
    expect(health.status).toBe(200);
    expect(corsHeadersOf(health)).toEqual([]);
    const upgrade = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(wsUrl(t), { headers: { Origin: origin } });
        socket.once('open', () => (socket.close(), resolve(101)));
        socket.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
        socket.once('error', reject);
      });
    expect(await upgrade(ALLOWED)).toBe(403);
    expect(await upgrade(t.baseUrl)).toBe(101);
  });
});

describe('a bad CORS_ORIGINS', () => {
  it('stops the start with a message naming the entry', () => {
    const run = spawnSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'apps/api/src/main.ts'],
      {
        env: { ...process.env, CORS_ORIGINS: 'https://app.example.com/,*', DATABASE_URL: 'postgres://127.0.0.1:1/none' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('CORS_ORIGINS: \\"https://app.example.com/\\" is not an origin');
    expect(run.stderr).toContain('CORS_ORIGINS: \\"*\\" is not an origin');
  });
});
