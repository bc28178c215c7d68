import { VerifiedTokenCache } from './verified-token-cache';

const verified = (userId: string, expiresAtMs: number) => ({ caller: { userId, familyId: 'f' }, expiresAtMs });

describe('VerifiedTokenCache', () => {
  it('answers a token that verified, and nothing for another token', () => {
    const cache = new VerifiedTokenCache(10, 60_000);
    cache.set('a.b.c', verified('alice', 1_000_000), 0);
    expect(cache.get('a.b.c', 1)).toMatchObject({ caller: { userId: 'alice' } });
    expect(cache.get('a.x.c', 1)).toBeUndefined();
  });

  it.each([
    ['before the token expires and within the TTL', 100_000, 50_000, true],
    ['at the token expiry', 100_000, 100_000, false],
    ['after the TTL, the token still valid', 1_000_000, 60_000, false],
    ['just before the TTL', 1_000_000, 59_999, true],
  ])('%s', (_what, expiresAtMs, nowMs, hit) => {
    const cache = new VerifiedTokenCache(10, 60_000);
    cache.set('t', verified('alice', expiresAtMs), 0);
    expect(cache.get('t', nowMs) !== undefined).toBe(hit);
  });

  it('keeps nothing that has already expired, and nothing with capacity 0', () => {
    const expired = new VerifiedTokenCache(10);
    expired.set('t', verified('alice', 5), 10);
    expect(expired.size).toBe(0);
    const off = new VerifiedTokenCache(0);
    off.set('t', verified('alice', 1e12), 0);
    expect(off.get('t', 1)).toBeUndefined();
  });

  it('holds at most its capacity, dropping the least recently used', () => {
    const cache = new VerifiedTokenCache(2, 60_000);
    cache.set('a', verified('a', 1e12), 0);
    cache.set('b', verified('b', 1e12), 0);
    cache.get('a', 1); // a is now the most recently used
    cache.set('c', verified('c', 1e12), 1);
    expect(cache.size).toBe(2);
    expect(cache.get('b', 2)).toBeUndefined();
    expect(cache.get('a', 2)).toBeDefined();
    expect(cache.get('c', 2)).toBeDefined();
  });
});
