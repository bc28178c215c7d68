import { createPublicKey, createSecretKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import type { Request } from 'express';
import { AuthConfig } from '@app/config';
import { algorithmsFor, KeySource, keySourceOf, strategyOptions } from './jwt-verification';

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

describe('strategyOptions', () => {
  const auth: AuthConfig = { secret: SECRET, issuer: 'https://id.example.com/', audience: 'delta-sync' };
  const options = strategyOptions(auth, keySourceOf(auth, noDevSecret));
  const tokenOf = (authorization?: string) =>
    options.jwtFromRequest({ headers: authorization === undefined ? {} : { authorization } } as Request);

  it('verifies with the configured key, algorithms, issuer and audience, and checks expiry', () => {
    const key = (options as unknown as { secretOrKey: KeyObject }).secretOrKey;
    expect(key.type).toBe('secret');
    expect(key.equals(createSecretKey(Buffer.from(SECRET)))).toBe(true);
    expect(options).toMatchObject({
      algorithms: ['HS256'],
      issuer: 'https://id.example.com/',
      audience: 'delta-sync',
      ignoreExpiration: false,
    });
  });

  it('uses the public key for a public-key source and a key provider for a key set', () => {
    const rsa = strategyOptions({ publicKey: RSA_PEM }, { kind: 'public-key', pem: RSA_PEM });
    expect(rsa).toMatchObject({ algorithms: ['RS256'] });
    const key = (rsa as unknown as { secretOrKey: KeyObject }).secretOrKey;
    expect(key.type).toBe('public');
    expect(key.export({ type: 'spki', format: 'pem' })).toBe(createPublicKey(RSA_PEM).export({ type: 'spki', format: 'pem' }));
    const jwks = strategyOptions({ jwksUri: JWKS_URI }, { kind: 'jwks', uri: JWKS_URI }) as unknown as Record<string, unknown>;
    expect(jwks.secretOrKey).toBeUndefined();
    expect(typeof jwks.secretOrKeyProvider).toBe('function');
  });

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
    expect(tokenOf(header)).toBe(token);
  });
});
