import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { startTestApp, TestApp } from '../support/test-app';
import { createFamily, delta, FamilyFixture } from '../support/sync-fixtures';

/**
 * SYNC_RATE_LIMIT counted in Redis (RATE_LIMIT_REDIS_URL): two instances of the service share
 * one count per user. Needs a Redis server: TEST_REDIS_URL (set by .ci/run); skipped without.
 */
const REDIS = process.env.TEST_REDIS_URL;

(REDIS ? describe : describe.skip)('rate limit shared through Redis', () => {
  let a: TestApp;
  let b: TestApp;
  let f: FamilyFixture;
  // Unique users per run: the Redis server outlives test runs.
  const run = randomBytes(4).toString('hex');
  const owner = `owner-${run}`;

  beforeAll(async () => {
    a = await startTestApp({ SYNC_RATE_LIMIT: '3', RATE_LIMIT_REDIS_URL: REDIS });
    b = await startTestApp({ SYNC_RATE_LIMIT: '3', RATE_LIMIT_REDIS_URL: REDIS, DATABASE_URL: a.db.url });
    f = await createFamily(a, owner);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('counts a user across instances: the 4th request of the minute is 429 on either', async () => {
    const member = await f.addMember(`member-${run}`);
    expect((await delta(a, f.token(), { device_id: 'p1' })).status).toBe(200);
    expect((await delta(b, f.token(), { device_id: 'p2' })).status).toBe(200);
    expect((await delta(a, f.token(), { device_id: 'p1' })).status).toBe(200);
    const limited = await delta(b, f.token(), { device_id: 'p2' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ statusCode: 429, error: 'too_many_requests' });
    expect((await delta(a, f.token(), { device_id: 'p1' })).status).toBe(429);
    // Another user of the family has a count of their own.
    expect((await delta(b, member, { device_id: 'm1' })).status).toBe(200);
  });

  // @nest-lab/throttler-storage-redis 1.2.0 declares peers up to Nest 11; package.json's
  // `overrides` lets it run on Nest 12. This pins that it still keeps the count: its Lua script
  // writes `{<key>:<throttler>}:hits` (expiring with the window) and, over the limit, `:blocked`.
  it('keeps the count in the Redis storage: hit and block keys with the window as TTL', async () => {
    const redis = new Redis(REDIS!);
    try {
      const keys = async (suffix: string) => new Set(await redis.keys(`{*:default}:${suffix}`));
      const [hitsBefore, blockedBefore] = [await keys('hits'), await keys('blocked')];
      const g = await createFamily(a, `keys-${run}`);
      for (let i = 0; i < 3; i++) expect((await delta(a, g.token(), { device_id: 'k' })).status).toBe(200);
      expect((await delta(b, g.token(), { device_id: 'k' })).status).toBe(429);
      const hits = [...(await keys('hits'))].filter((key) => !hitsBefore.has(key));
      const blocked = [...(await keys('blocked'))].filter((key) => !blockedBefore.has(key));
      expect(hits).toHaveLength(1);
      expect(blocked).toEqual([hits[0]!.replace(/:hits$/, ':blocked')]);
      expect(Number(await redis.get(hits[0]!))).toBe(4);
      const ttl = await redis.pttl(hits[0]!);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      redis.disconnect();
    }
  });

  it('fails open when Redis is unreachable: syncs go on, unlimited', async () => {
    const c = await startTestApp({ SYNC_RATE_LIMIT: '1', RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: a.db.url });
    try {
      const user = `down-${run}`;
      const g = await createFamily(c, user);
      for (let i = 0; i < 3; i++) expect((await delta(c, g.token(), { device_id: 'd' })).status).toBe(200);
    } finally {
      await c.close();
    }
  });
});
