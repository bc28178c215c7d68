import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { CryptoKey, exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import request from 'supertest';
import { bearer } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const tokenOf = (key: SigningKey, kid = key.kid) =>
  new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256', kid }).setIssuedAt().setExpirationTime('1h').sign(key.privateKey);

/** An identity provider's key set endpoint that counts its fetches. */
class JwksServer {
  readonly published: JWK[] = [];
  fetches = 0;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((_req, res) => {
      this.fetches += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: this.published }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  stop(): Promise<unknown> {
    return new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}

/** POST /families needs nothing but a valid token: the probe for "is this token accepted?". */
const probe = (t: TestApp, token: string) => request(t.server).post('/families').set(bearer(token)).send({ name: 'Probe' });

/** 200 tokens signed with the known key but naming made-up key ids, all at once. */
async function floodOfUnknownKids(t: TestApp, key: SigningKey): Promise<number[]> {
  const tokens = await Promise.all(Array.from({ length: 200 }, () => tokenOf(key, randomUUID())));
  return (await Promise.all(tokens.map((token) => probe(t, token)))).map((res) => res.status);
}

describe('auth: JWT_JWKS_URI under a flood of unknown key ids', () => {
  const jwks = new JwksServer();
  let known: SigningKey;
  let t: TestApp;

  beforeAll(async () => {
    known = await signingKey('known-1');
    jwks.published.push(known.jwk);
    t = await startTestApp({ JWT_SECRET: '', JWT_JWKS_URI: await jwks.start() });
  });
  afterAll(async () => {
    await t?.close();
    await jwks.stop();
  });

  it('200 tokens with unknown kids: all 401, the key set is fetched at most twice, a known key still verifies during and after', async () => {
    expect((await probe(t, await tokenOf(known))).status).toBe(201);
    const before = jwks.fetches;
    const [statuses, during] = await Promise.all([floodOfUnknownKids(t, known), tokenOf(known).then((token) => probe(t, token))]);
    const after = await probe(t, await tokenOf(known));
    process.stdout.write(`flood of 200 unknown kids: ${jwks.fetches - before} key set fetches (cooldown 30 s)\n`);
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect(during.status).toBe(201);
    expect(after.status).toBe(201);
    // One refetch for the first unknown kid, none for the others within the cooldown.
    expect(jwks.fetches - before).toBeLessThanOrEqual(1);
  });
});

describe('auth: JWT_JWKS_URI key rotation after a flood', () => {
  const COOLDOWN_MS = 500;
  const jwks = new JwksServer();
  let known: SigningKey;
  let t: TestApp;

  beforeAll(async () => {
    known = await signingKey('known-1');
    jwks.published.push(known.jwk);
    t = await startTestApp({ JWT_SECRET: '', JWT_JWKS_URI: await jwks.start(), JWT_JWKS_COOLDOWN_MS: String(COOLDOWN_MS) });
  });
  afterAll(async () => {
    await t?.close();
    await jwks.stop();
  });

  it('a key published after a flood of unknown kids is picked up once the cooldown is over', async () => {
    expect((await probe(t, await tokenOf(known))).status).toBe(201);
    const before = jwks.fetches;
    const started = performance.now();
    expect((await floodOfUnknownKids(t, known)).every((s) => s === 401)).toBe(true);
    const floodMs = performance.now() - started;
    const fetched = jwks.fetches - before;
    process.stdout.write(
      `flood of 200 unknown kids in ${floodMs.toFixed(0)} ms: ${fetched} key set fetches (cooldown ${COOLDOWN_MS} ms)\n`,
    );
    expect(fetched).toBeLessThanOrEqual(Math.ceil(floodMs / COOLDOWN_MS) + 1);

    const rotated = await signingKey('rotated-2');
    jwks.published.push(rotated.jwk);
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 50));
    expect((await probe(t, await tokenOf(rotated))).status).toBe(201);
    expect((await probe(t, await tokenOf(known))).status).toBe(201);
  });
});
