import { generateKeyPairSync } from 'node:crypto';
import { sign, SignOptions } from 'jsonwebtoken';
import { AuthConfig } from '@app/config';
import type { ConfigService } from '@nestjs/config';
import type { AppConfig } from '@app/config';
import { algorithmsFor, bearerTokenOf, KeySource, keySourceOf } from './jwt-verification';
import { JwtStrategy } from './jwt.strategy';
import { TokenVerifier } from './token-verifier';

const SECRET = 's'.repeat(32);
const JWKS_URI = 'https://id.example.com/.well-known/jwks.json';
const RSA_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const EC_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

const noDevSecret = () => {
  throw new Error('the development secret must not be read when a key is configured');
};

describe('keySourceOf', () => {
  it('uses JWT_SECRET as an HMAC secret', () => {
    expect(keySourceOf({ secret: SECRET }, noDevSecret)).toEqual({ kind: 'secret', secret: SECRET });
  });

  it('uses JWT_PUBLIC_KEY as a public key', () => {
    expect(keySourceOf({ publicKey: RSA_PEM }, noDevSecret)).toEqual({ kind: 'public-key', pem: RSA_PEM });
  });

  it('uses JWT_JWKS_URI as a key set', () => {
    expect(keySourceOf({ jwksUri: JWKS_URI }, noDevSecret)).toEqual({ kind: 'jwks', uri: JWKS_URI });
  });

  it('prefers a key set, then a public key, over a secret', () => {
    expect(keySourceOf({ secret: SECRET, publicKey: EC_PEM, jwksUri: JWKS_URI }, noDevSecret).kind).toBe('jwks');
    expect(keySourceOf({ secret: SECRET, publicKey: EC_PEM }, noDevSecret).kind).toBe('public-key');
  });

  it('falls back to the development secret only when no key is configured, and reads it then', () => {
    const devSecret = jest.fn(() => 'dev-secret');
    expect(keySourceOf({ issuer: 'https://id.example.com/' }, devSecret)).toEqual({ kind: 'secret', secret: 'dev-secret' });
    expect(devSecret).toHaveBeenCalledTimes(1);
  });
});

describe('algorithmsFor', () => {
  it.each<[string, KeySource, string[]]>([
    ['a secret', { kind: 'secret', secret: SECRET }, ['HS256']],
    ['an RSA public key', { kind: 'public-key', pem: RSA_PEM }, ['RS256']],
    ['an EC public key', { kind: 'public-key', pem: EC_PEM }, ['ES256']],
    ['a key set', { kind: 'jwks', uri: JWKS_URI }, ['RS256', 'ES256']],
  ])('accepts exactly %s algorithms', (_, source, algorithms) => {
    expect(algorithmsFor(source)).toEqual(algorithms);
  });

  it.each<[string, KeySource]>([
    ['a secret', { kind: 'secret', secret: SECRET }],
    ['an RSA public key', { kind: 'public-key', pem: RSA_PEM }],
    ['an EC public key', { kind: 'public-key', pem: EC_PEM }],
    ['a key set', { kind: 'jwks', uri: JWKS_URI }],
  ])('never accepts none, and never mixes HMAC with public keys, for %s', (_, source) => {
    const algorithms: string[] = algorithmsFor(source);
    expect(algorithms.map((a) => a.toLowerCase())).not.toContain('none');
    const hmac = algorithms.filter((a) => a.startsWith('HS'));
    expect(hmac.length === 0 || hmac.length === algorithms.length).toBe(true);
    expect(hmac.length > 0).toBe(source.kind === 'secret');
  });

  it('throws on a public key that is not a PEM', () => {
    expect(() => algorithmsFor({ kind: 'public-key', pem: 'not a key' })).toThrow();
  });
});

describe('TokenVerifier over JwtStrategy (passport-jwt and jsonwebtoken, the messages of the 401 answers)', () => {
  const auth: AuthConfig = { secret: SECRET, issuer: 'https://id.example.com/', audience: 'delta-sync' };
  const config = { get: (key: string) => (key === 'auth' ? auth : '.data') } as unknown as ConfigService<AppConfig, true>;
  const verifier = new TokenVerifier(new JwtStrategy(config), config);
  const verify = (token: string) => verifier.verify(token);
  const hs256 = (claims: Record<string, unknown>, options: SignOptions = {}) =>
    sign(claims, SECRET, {
      algorithm: 'HS256',
      issuer: auth.issuer,
      audience: auth.audience,
      ...('exp' in claims ? {} : { expiresIn: '1h' }),
      ...options,
    });
  const refusalOf = (token: string) =>
    verify(token).then(
      () => 'accepted',
      (error: Error) => `${error.constructor.name}: ${error.message}`,
    );

  it('with JWT_CACHE_SIZE, verifies a token once and then answers from the cache; a refusal is never cached', async () => {
    const cachedAuth: AuthConfig = { ...auth, cacheSize: 10 };
    const cachedConfig = { get: (key: string) => (key === 'auth' ? cachedAuth : '.data') } as unknown as ConfigService<AppConfig, true>;
    const strategy = new JwtStrategy(cachedConfig);
    const checks = jest.spyOn(strategy, 'authenticate');
    const cached = new TokenVerifier(strategy, cachedConfig);
    const token = hs256({ sub: 'alice', familyId: 'f' });
    for (let i = 0; i < 3; i++) await expect(cached.verify(token)).resolves.toMatchObject({ caller: { userId: 'alice', familyId: 'f' } });
    expect(checks).toHaveBeenCalledTimes(1);
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    for (let i = 0; i < 2; i++) await expect(cached.verify(forged)).rejects.toThrow('invalid signature');
    expect(checks).toHaveBeenCalledTimes(3);
  });

  it('returns the caller of a token signed with the configured key, issuer and audience', async () => {
    await expect(verify(hs256({ sub: 'alice', familyId: 'f' }))).resolves.toMatchObject({ caller: { userId: 'alice', familyId: 'f' } });
  });

  it.each<[string, () => string, string]>([
    ['a token of two parts', () => 'abc.def', 'jwt malformed'],
    ['a header that is not JSON', () => 'abc.def.ghi', 'invalid token'],
    ['no signature', () => hs256({ sub: 'alice' }).replace(/[^.]+$/, ''), 'jwt signature is required'],
    ['another secret', () => sign({ sub: 'alice' }, 'o'.repeat(32), { algorithm: 'HS256', expiresIn: '1h' }), 'invalid signature'],
    ['an expiry beyond the 30 s tolerance', () => hs256({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 40 }), 'jwt expired'],
    ['a not-before in the future', () => hs256({ sub: 'alice' }, { notBefore: '1h' }), 'jwt not active'],
    ['another issuer', () => hs256({ sub: 'alice' }, { issuer: 'https://evil.example.com/' }), 'jwt issuer invalid'],
    ['another audience', () => hs256({ sub: 'alice' }, { audience: 'other' }), 'jwt audience invalid'],
  ])('refuses %s', async (_, token, message) => {
    await expect(refusalOf(token())).resolves.toBe(`UnauthorizedException: ${message}`);
  });
});

describe('bearerTokenOf', () => {
  it.each<[string | undefined, string | null]>([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['Bearer   abc.def.ghi', 'abc.def.ghi'],
    [undefined, null],
    ['', null],
    ['Bearer', null],
    ['Bearer ', null],
    ['Basic YWxpY2U6c2VjcmV0', null],
    ['abc.def.ghi', null],
    ['Bearer abc def', null],
  ])('reads the token of Authorization %p as %p', (header, token) => {
    expect(bearerTokenOf(header)).toBe(token);
  });
});
