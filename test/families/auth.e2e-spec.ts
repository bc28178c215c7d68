import { createHmac, generateKeyPairSync, KeyObject } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { sign } from 'jsonwebtoken';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { bearer, mintToken, TEST_JWT_SECRET } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';

const ISSUER = 'https://id.example.com/';
const AUDIENCE = 'delta-sync';
const now = () => Math.floor(Date.now() / 1000);

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pemOf = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token assembled by hand, for what jsonwebtoken refuses to sign (`alg: none`, HMAC over a PEM). */
function craftToken(header: Record<string, unknown>, payload: Record<string, unknown>, hmacSecret?: string): string {
  const signingInput = `${base64url(header)}.${base64url(payload)}`;
  const signature = hmacSecret === undefined ? '' : createHmac('sha256', hmacSecret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/**
 * POST /families needs nothing but a valid token: the probe for "is this token accepted?".
 * Probes expected to fail are named `Rejected`, so a test can check that none was stored.
 */
const createFamily = (t: TestApp, headers: Record<string, string> = {}, name = 'Probe') =>
  request(t.server).post('/families').set(headers).send({ name });
const rejectedProbe = (t: TestApp, headers: Record<string, string> = {}) => createFamily(t, headers, 'Rejected');

function expectUnauthorized(res: Response, message: string): void {
  expect(res.status).toBe(401);
  expect(res.body).toEqual({ statusCode: 401, error: 'unauthorized', message, requestId: res.headers['x-request-id'] });
  expect(res.body.requestId).toEqual(expect.any(String));
}

function expectCreated(res: Response): void {
  expect(res.status).toBe(201);
  expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Probe', role: 'owner' });
}

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

describe('auth: JWT_JWKS_URI', () => {
  const JWKS_COOLDOWN_MS = 300;
  const rsaKeys = rsa();
  const ecKeys = ec();
  const rotated = rsa();
  const jwk = (key: KeyObject, kid: string, alg: string) => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  const keySet = { keys: [jwk(rsaKeys.publicKey, 'rsa-1', 'RS256'), jwk(ecKeys.publicKey, 'ec-1', 'ES256')] };
  const signed = (
    kid: string | undefined,
    key: KeyObject,
    algorithm: 'RS256' | 'ES256',
    claims: Record<string, unknown> = { sub: 'alice' },
  ) => sign(claims, key, { algorithm, expiresIn: '1h', ...(kid === undefined ? {} : { keyid: kid }) });
  let jwksServer: Server;
  let jwksRequests = 0;
  let t: TestApp;

  beforeAll(async () => {
    jwksServer = createServer((req, res) => {
      jwksRequests += 1;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(keySet));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    t = await startTestApp({
      JWT_SECRET: '',
      JWT_JWKS_URI: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      JWT_JWKS_COOLDOWN_MS: String(JWKS_COOLDOWN_MS),
    });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => jwksServer?.close(resolve));
  });

  it('accepts an RS256 token whose kid is in the key set, fetched from the identity provider', async () => {
    expectCreated(await createFamily(t, bearer(signed('rsa-1', rsaKeys.privateKey, 'RS256'))));
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it('accepts an ES256 token whose kid is in the key set', async () => {
    expectCreated(await createFamily(t, bearer(signed('ec-1', ecKeys.privateKey, 'ES256'))));
  });

  it('401 for a token whose kid is not in the key set', async () => {
    expectUnauthorized(
      await rejectedProbe(t, bearer(signed('unknown-kid', rsaKeys.privateKey, 'RS256'))),
      "Unable to find a signing key that matches 'unknown-kid'",
    );
  });

  it('accepts a token without kid when exactly one key of its type is in the key set', async () => {
    expectCreated(await createFamily(t, bearer(signed(undefined, rsaKeys.privateKey, 'RS256'))));
  });

  it('401 for a token that names a known kid but is signed with another key', async () => {
    expectUnauthorized(await rejectedProbe(t, bearer(signed('rsa-1', rsa().privateKey, 'RS256'))), 'invalid signature');
  });

  it('401 for an ES256 token that names the RSA kid', async () => {
    const res = await rejectedProbe(t, bearer(signed('rsa-1', ecKeys.privateKey, 'ES256')));
    expectUnauthorized(res, "Unable to find a signing key that matches 'rsa-1'");
  });

  it('401 for an HS256 token that names a kid (no HMAC secret comes from a key set)', async () => {
    const hs256 = craftToken(
      { alg: 'HS256', typ: 'JWT', kid: 'rsa-1' },
      { sub: 'alice', iat: now(), exp: now() + 3600 },
      pemOf(rsaKeys.publicKey),
    );
    expectUnauthorized(await rejectedProbe(t, bearer(hs256)), 'invalid algorithm');
  });

  it('401 for an unsigned token that names a kid', async () => {
    const unsigned = craftToken({ alg: 'none', typ: 'JWT', kid: 'rsa-1' }, { sub: 'alice', iat: now(), exp: now() + 3600 });
    expectUnauthorized(await rejectedProbe(t, bearer(unsigned)), 'invalid algorithm');
  });

  it('picks up a key the identity provider added later (rotation) without a restart, once the cooldown is over', async () => {
    keySet.keys.push(jwk(rotated.publicKey, 'rsa-2', 'RS256'));
    await new Promise((resolve) => setTimeout(resolve, JWKS_COOLDOWN_MS + 50));
    expectCreated(await createFamily(t, bearer(signed('rsa-2', rotated.privateKey, 'RS256'))));
  });

  it('401 for a token without kid when several keys of its type are in the key set', async () => {
    expectUnauthorized(
      await rejectedProbe(t, bearer(signed(undefined, rsaKeys.privateKey, 'RS256'))),
      'No KID specified and JWKS endpoint returned more than 1 key',
    );
  });
});
