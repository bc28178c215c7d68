import request from 'supertest';
import { sign } from 'jsonwebtoken';
import { DataSource } from 'typeorm';
import { bearer, mintToken, TEST_JWT_SECRET } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';
import {
  ISSUER,
  AUDIENCE,
  now,
  rsa,
  base64url,
  craftToken,
  createFamily,
  rejectedProbe,
  expectUnauthorized,
  expectCreated,
} from '../support/auth-helpers';

/**
 * Authentication over HTTP on a real database, one of three suites (auth-secret, auth-public-key,
 * auth-jwks .e2e-spec.ts) from the original auth.e2e-spec.ts, one app per key source.
 * This one: HS256 with JWT_SECRET, and JWT_ISSUER / JWT_AUDIENCE.
 */
describe('auth: HS256 with JWT_SECRET', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('accepts a valid token without familyId on POST /families and makes its sub the owner', async () => {
    const res = await createFamily(t, bearer(mintToken({ sub: 'alice' })));
    expectCreated(res);
    const members = await request(t.server)
      .get(`/families/${res.body.id}/members`)
      .set(bearer(mintToken({ sub: 'alice' })));
    expect(members.status).toBe(200);
    expect(members.body).toEqual([{ userId: 'alice', role: 'owner', joinedAt: expect.any(String) }]);
  });

  it('accepts the scheme name in any case', async () => {
    expectCreated(await createFamily(t, { Authorization: `bearer ${mintToken({ sub: 'alice' })}` }));
  });

  it('accepts a token that expired less than the 30 s clock tolerance ago', async () => {
    const justExpired = sign({ sub: 'alice', exp: now() - 10 }, TEST_JWT_SECRET, { algorithm: 'HS256' });
    expectCreated(await createFamily(t, bearer(justExpired)));
  });

  it('leaves public routes open', async () => {
    await request(t.server).get('/health/live').expect(200);
  });

  it.each<[string, Record<string, string>]>([
    ['no Authorization header', {}],
    ['"Bearer" alone', { Authorization: 'Bearer' }],
    ['"Bearer " with nothing after it', { Authorization: 'Bearer ' }],
    ['a Basic credential', { Authorization: 'Basic YWxpY2U6c2VjcmV0' }],
    ['a token without its scheme', { Authorization: mintToken({ sub: 'alice' }) }],
    ['two words after Bearer', { Authorization: `Bearer ${mintToken({ sub: 'alice' })} extra` }],
  ])('401 missing bearer token: %s', async (_, headers) => {
    expectUnauthorized(await rejectedProbe(t, headers), 'missing bearer token');
  });

  it.each([
    ['a garbage token', 'garbage'],
    ['two parts', 'abc.def'],
  ])('401 jwt malformed: %s', async (_, token) => {
    expectUnauthorized(await rejectedProbe(t, bearer(token)), 'jwt malformed');
  });

  it('401 invalid token: three parts that are not base64 JSON', async () => {
    expectUnauthorized(await rejectedProbe(t, bearer('abc.def.ghi')), 'invalid token');
  });

  it('401 for an expired token', async () => {
    const expired = mintToken({ sub: 'alice', iat: now() - 7200 }, { expiresIn: '1h' });
    expectUnauthorized(await rejectedProbe(t, bearer(expired)), 'jwt expired');
  });

  it('401 for a token that is not valid yet', async () => {
    expectUnauthorized(await rejectedProbe(t, bearer(mintToken({ sub: 'alice' }, { notBefore: '1h' }))), 'jwt not active');
  });

  it('401 for a token signed with another HS256 secret', async () => {
    const forged = mintToken({ sub: 'alice' }, {}, 'another-secret-that-is-also-long-enough-0123456789');
    expectUnauthorized(await rejectedProbe(t, bearer(forged)), 'invalid signature');
  });

  it('401 for a token whose payload was changed after signing', async () => {
    const [header, , signature] = mintToken({ sub: 'mallory' }).split('.');
    const tampered = `${header}.${base64url({ sub: 'alice', iat: now(), exp: now() + 3600 })}.${signature}`;
    expectUnauthorized(await rejectedProbe(t, bearer(tampered)), 'invalid signature');
  });

  it.each(['none', 'None', 'NONE'])('401 for an unsigned token with alg %s', async (alg) => {
    const unsigned = craftToken({ alg, typ: 'JWT' }, { sub: 'alice', iat: now(), exp: now() + 3600 });
    expect(unsigned.endsWith('.')).toBe(true);
    expectUnauthorized(await rejectedProbe(t, bearer(unsigned)), 'jwt signature is required');
  });

  it('401 for an RS256 token', async () => {
    const token = sign({ sub: 'alice' }, rsa().privateKey, { algorithm: 'RS256', expiresIn: '1h' });
    expectUnauthorized(await rejectedProbe(t, bearer(token)), 'invalid algorithm');
  });

  it.each<[string, Record<string, unknown>]>([
    ['no sub', { familyId: '00000000-0000-4000-8000-000000000000' }],
    ['an empty sub', { sub: '' }],
    ['a numeric sub', { sub: 42 }],
    ['a sub longer than 128 characters', { sub: 'u'.repeat(129) }],
  ])('401 for a token with %s', async (_, claims) => {
    const token = sign(claims, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' });
    expectUnauthorized(await rejectedProbe(t, bearer(token)), 'token has no valid sub claim');
  });

  it('401 for a token without exp (it would never expire)', async () => {
    const token = sign({ sub: 'alice' }, TEST_JWT_SECRET, { algorithm: 'HS256' });
    expectUnauthorized(await rejectedProbe(t, bearer(token)), 'token has no exp claim');
  });

  it.each<[string, unknown]>([
    ['a numeric familyId', 7],
    ['an empty familyId', ''],
  ])('401 for a token with %s', async (_, familyId) => {
    const token = sign({ sub: 'alice', familyId }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' });
    expectUnauthorized(await rejectedProbe(t, bearer(token)), 'token familyId claim must be a non-empty string');
  });

  it('ran no handler for a rejected request', async () => {
    const rows = await t.app.get(DataSource).query(`SELECT count(*)::int AS count FROM families WHERE name = 'Rejected'`);
    expect(rows).toEqual([{ count: 0 }]);
  });
});

describe('auth: JWT_ISSUER and JWT_AUDIENCE', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  });
  afterAll(() => t?.close());

  it('accepts a token with the configured iss and aud', async () => {
    expectCreated(await createFamily(t, bearer(mintToken({ sub: 'alice' }, { issuer: ISSUER, audience: AUDIENCE }))));
  });

  it('accepts a token whose aud list contains the configured audience', async () => {
    const token = mintToken({ sub: 'alice' }, { issuer: ISSUER, audience: ['other-api', AUDIENCE] });
    expectCreated(await createFamily(t, bearer(token)));
  });

  it.each<[string, { issuer?: string; audience?: string }, string]>([
    ['a wrong iss', { issuer: 'https://evil.example.com/', audience: AUDIENCE }, `jwt issuer invalid`],
    ['no iss', { audience: AUDIENCE }, `jwt issuer invalid`],
    ['a wrong aud', { issuer: ISSUER, audience: 'other-api' }, `jwt audience invalid`],
    ['no aud', { issuer: ISSUER }, `jwt audience invalid`],
  ])('401 for a token with %s', async (_, options, message) => {
    expectUnauthorized(await rejectedProbe(t, bearer(mintToken({ sub: 'alice' }, options))), message);
  });
});
