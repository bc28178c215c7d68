import { KeyObject } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { bearer, mintToken } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';
import { now, rsa, ec, pemOf, craftToken, createFamily, rejectedProbe, expectUnauthorized, expectCreated } from '../support/auth-helpers';

/**
 * Authentication over HTTP on a real database, one of three suites (auth-secret, auth-public-key,
 * auth-jwks .e2e-spec.ts) from the original auth.e2e-spec.ts, one app per key source.
 * This one: RS256 and ES256 with JWT_PUBLIC_KEY.
 */
describe('auth: RS256 with JWT_PUBLIC_KEY', () => {
  const keys = rsa();
  const publicPem = pemOf(keys.publicKey);
  const rs256 = (claims: Record<string, unknown>, key: KeyObject = keys.privateKey) =>
    sign(claims, key, { algorithm: 'RS256', expiresIn: '1h' });
  let t: TestApp;

  beforeAll(async () => {
    // JWT_SECRET '' unsets the test default: one key source only.
    t = await startTestApp({ JWT_SECRET: '', JWT_PUBLIC_KEY: publicPem });
  });
  afterAll(() => t?.close());

  it('accepts a token signed with the private key', async () => {
    expectCreated(await createFamily(t, bearer(rs256({ sub: 'alice' }))));
  });

  it('401 for a token signed with another RSA key', async () => {
    expectUnauthorized(await rejectedProbe(t, bearer(rs256({ sub: 'alice' }, rsa().privateKey))), 'invalid signature');
  });

  it('401 for algorithm confusion: an HS256 token whose HMAC secret is the public PEM', async () => {
    const confused = craftToken({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', iat: now(), exp: now() + 3600 }, publicPem);
    expectUnauthorized(await rejectedProbe(t, bearer(confused)), 'invalid algorithm');
  });

  it('401 for an HS256 token signed with the test secret the other apps use', async () => {
    expectUnauthorized(await rejectedProbe(t, bearer(mintToken({ sub: 'alice' }))), 'invalid algorithm');
  });

  it('401 for an ES256 token', async () => {
    const token = sign({ sub: 'alice' }, ec().privateKey, { algorithm: 'ES256', expiresIn: '1h' });
    expectUnauthorized(await rejectedProbe(t, bearer(token)), 'invalid algorithm');
  });

  it('401 for an unsigned token', async () => {
    const unsigned = craftToken({ alg: 'none', typ: 'JWT' }, { sub: 'alice', iat: now(), exp: now() + 3600 });
    expectUnauthorized(await rejectedProbe(t, bearer(unsigned)), 'jwt signature is required');
  });

  it('401 for an expired RS256 token', async () => {
    expectUnauthorized(await rejectedProbe(t, bearer(rs256({ sub: 'alice', iat: now() - 7200 }))), 'jwt expired');
  });
});

describe('auth: ES256 with JWT_PUBLIC_KEY', () => {
  const keys = ec();
  const es256 = (claims: Record<string, unknown>, key: KeyObject = keys.privateKey) =>
    sign(claims, key, { algorithm: 'ES256', expiresIn: '1h' });
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ JWT_SECRET: '', JWT_PUBLIC_KEY: pemOf(keys.publicKey) });
  });
  afterAll(() => t?.close());

  it('accepts a token signed with the private key', async () => {
    expectCreated(await createFamily(t, bearer(es256({ sub: 'alice' }))));
  });

  it('401 for a token signed with another P-256 key', async () => {
    expectUnauthorized(await rejectedProbe(t, bearer(es256({ sub: 'alice' }, ec().privateKey))), 'invalid signature');
  });

  it('401 for an RS256 token', async () => {
    const token = sign({ sub: 'alice' }, rsa().privateKey, { algorithm: 'RS256', expiresIn: '1h' });
    expectUnauthorized(await rejectedProbe(t, bearer(token)), 'invalid algorithm');
  });

  it('401 for algorithm confusion: an HS256 token whose HMAC secret is the public PEM', async () => {
    const confused = craftToken({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', iat: now(), exp: now() + 3600 }, pemOf(keys.publicKey));
    expectUnauthorized(await rejectedProbe(t, bearer(confused)), 'invalid algorithm');
  });
});
