import { gunzipSync } from 'node:zlib';
import { backoffDelay, parseRetryAfter } from './backoff.js';
import { DeltaSenderOptions, sendDelta } from './delta-sender.js';
import { FetchInit, FetchLike, ResponseLike } from './platform.js';
import { DeltaRequest, OutgoingChange } from './types.js';

const OK_BODY = {
  server_changes: [],
  conflicts: [],
  errors: [],
  applied: [],
  last_sync_at: '2025-01-01T00:00:00.000000Z',
  has_more: false,
  resync_required: false,
  success: true,
  applied_count: 0,
  error_count: 0,
};
const answer = (status: number, body: unknown = OK_BODY, headers: Record<string, string> = {}): ResponseLike => ({
  status,
  headers: { get: (n) => headers[n.toLowerCase()] ?? null },
  text: async () => JSON.stringify(body),
});
const req = {
  device_id: 'd1',
  last_sync_at: null,
  changes: [
    {
      change_id: 'c1',
      entity_type: 'task',
      entity_id: 't1',
      action: 'create',
      data: { title: 'a' },
      client_timestamp: '2025-01-01T00:00:00Z',
    },
  ],
} satisfies DeltaRequest & { changes: OutgoingChange[] };

function harness(script: (ResponseLike | Error)[], over: Partial<DeltaSenderOptions> = {}) {
  const sent: FetchInit[] = [];
  const waits: number[] = [];
  const tokens: boolean[] = [];
  const fetch: FetchLike = async (_url, init) => {
    sent.push(init);
    const next = script.shift() ?? answer(200);
    if (next instanceof Error) throw next;
    return next;
  };
  const opts: DeltaSenderOptions = {
    url: 'http://x/sync/delta',
    fetch,
    getToken: ({ afterUnauthorized }) => (tokens.push(afterUnauthorized), afterUnauthorized ? 'fresh' : 'stale'),
    retry: { baseMs: 100, maxMs: 1000, maxAttempts: 4 },
    timeoutMs: 1000,
    gzipThreshold: 8192,
    random: () => 0.5,
    wait: async (ms) => void waits.push(ms),
    onWait: () => undefined,
    ...over,
  };
  return { opts, sent, waits, tokens };
}

describe('sendDelta', () => {
  it('network failures and 5xx: the same bytes again after backoff with jitter, or after the 503 Retry-After', async () => {
    const h = harness([
      new TypeError('fetch failed'),
      answer(500, { error: 'x' }),
      answer(503, { error: 'database_unavailable' }, { 'retry-after': '2' }),
    ]);
    await expect(sendDelta(h.opts, req)).resolves.toMatchObject({ success: true });
    expect(h.sent).toHaveLength(4);
    expect(new Set(h.sent.map((s) => s.body)).size).toBe(1);
    expect(h.waits).toEqual([75, 150, 2000]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const h = harness([answer(502), answer(502), answer(502), answer(502)]);
    await expect(sendDelta(h.opts, req)).rejects.toMatchObject({ status: 502 });
    expect(h.sent).toHaveLength(4);
  });

  it('429 waits for Retry-After', async () => {
    const h = harness([answer(429, { error: 'too_many_requests' }, { 'retry-after': '7' })]);
    await sendDelta(h.opts, req);
    expect(h.waits).toEqual([7000]);
  });

  it('401: one more getToken with afterUnauthorized, then the request again; a second 401 fails', async () => {
    const h = harness([answer(401)]);
    await sendDelta(h.opts, req);
    expect(h.tokens).toEqual([false, true]);
    expect(h.sent.map((s) => s.headers.Authorization)).toEqual(['Bearer stale', 'Bearer fresh']);
    const twice = harness([answer(401), answer(401)]);
    await expect(sendDelta(twice.opts, req)).rejects.toMatchObject({ status: 401 });
  });

  it('other 4xx fail at once, naming the server error', async () => {
    const h = harness([answer(400, { error: 'bad_request', message: 'changes.0.entity_id is too long' })]);
    await expect(sendDelta(h.opts, req)).rejects.toThrow('HTTP 400 bad_request: changes.0.entity_id is too long');
    expect(h.sent).toHaveLength(1);
  });

  it('a body over the threshold is gzip-compressed, a small one is not', async () => {
    const small = harness([]);
    await sendDelta(small.opts, req);
    expect(small.sent[0].headers['Content-Encoding']).toBeUndefined();
    const big = harness([]);
    const bigReq = {
      ...req,
      changes: Array.from({ length: 40 }, (_, i) => ({ ...req.changes[0], change_id: `c${i}`, data: { title: 'x'.repeat(300) } })),
    };
    await sendDelta(big.opts, bigReq);
    expect(big.sent[0].headers['Content-Encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(big.sent[0].body as Uint8Array).toString('utf8'))).toEqual(bigReq);
  });
});

describe('backoff', () => {
  it('equal jitter: between half and all of the capped exponential delay', () => {
    const p = { baseMs: 100, maxMs: 1000, maxAttempts: 9 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, p, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, p, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', Date.parse('2025-01-01T00:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
