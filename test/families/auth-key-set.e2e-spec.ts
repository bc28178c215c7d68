import { KeyObject } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { sign } from 'jsonwebtoken';
import { bearer } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';
import { now, rsa, ec, pemOf, craftToken, createFamily, rejectedProbe, expectUnauthorized, expectCreated } from '../support/auth-helpers';

/**
 * Authentication over HTTP on a real database, one of three suites (auth-secret, auth-public-key,
 * auth-jwks .e2e-spec.ts) from the original auth.e2e-spec.ts, one app per key source.
 * This one: JWT_JWKS_URI (keys fetched from a JWKS endpoint).
 */
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
    // A new token (its own jti): the one accepted above, signed in the same second, is byte for byte the
    // same and stays in the verified-token cache (JWT_CACHE_SIZE) for up to a minute, by design.
    const fresh = signed(undefined, rsaKeys.privateKey, 'RS256', { sub: 'alice', jti: 'after-rotation' });
    expectUnauthorized(await rejectedProbe(t, bearer(fresh)), 'No KID specified and JWKS endpoint returned more than 1 key');
  });
});
