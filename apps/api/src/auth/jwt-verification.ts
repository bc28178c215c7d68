import { createPublicKey, createSecretKey, KeyObject, webcrypto } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, ProtectedHeaderParameters } from 'jose';
import { decode } from 'jsonwebtoken';
import type { SecretOrKeyProvider, StrategyOptionsWithoutRequest } from 'passport-jwt';
import { AuthConfig } from '@app/config';

export type KeySource = { kind: 'secret'; secret: string } | { kind: 'public-key'; pem: string } | { kind: 'jwks'; uri: string };

export type Algorithm = 'HS256' | 'RS256' | 'ES256';

export function keySourceOf(auth: AuthConfig, devSecret: () => string): KeySource {
  if (auth.jwksUri) return { kind: 'jwks', uri: auth.jwksUri };
  if (auth.publicKey) return { kind: 'public-key', pem: auth.publicKey };
  return { kind: 'secret', secret: auth.secret ?? devSecret() };
}

/**
 * One accepted algorithm family per key source: an HMAC secret never verifies an RS/ES
 * token and a public key is never used as an HMAC secret (algorithm confusion), and
 * `alg: none` is never in the list.
 */
export function algorithmsFor(source: KeySource): Algorithm[] {
  switch (source.kind) {
    case 'secret':
      return ['HS256'];
    case 'public-key':
      return createPublicKey(source.pem).asymmetricKeyType === 'ec' ? ['ES256'] : ['RS256'];
    case 'jwks':
      return ['RS256', 'ES256'];
  }
}

/** The token of `Authorization: Bearer <token>` (scheme in any case), or null. */
export function bearerTokenOf(header: string | string[] | undefined): string | null {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}

/**
 * The passport-jwt options of the one verification (jsonwebtoken checks signature, algorithm,
 * expiry, not-before, issuer and audience; the strategy's `validate` the service's claims).
 * Key objects are built once: a string key would be parsed again on every verification.
 */
export function strategyOptions(auth: AuthConfig, source: KeySource): StrategyOptionsWithoutRequest {
  const algorithms = algorithmsFor(source);
  const key: { secretOrKey: KeyObject } | { secretOrKeyProvider: SecretOrKeyProvider } =
    source.kind === 'jwks'
      ? { secretOrKeyProvider: keySetProvider(source.uri, algorithms, auth.jwksCooldownMs ?? 30_000) }
      : { secretOrKey: source.kind === 'secret' ? createSecretKey(Buffer.from(source.secret, 'utf8')) : createPublicKey(source.pem) };
  return {
    jwtFromRequest: (req) => bearerTokenOf(req.headers.authorization),
    ...key,
    algorithms,
    issuer: auth.issuer,
    audience: auth.audience,
    ignoreExpiration: false,
    jsonWebTokenOptions: { clockTolerance: 30 },
  } as StrategyOptionsWithoutRequest;
}

/**
 * The verification key of a token from the identity provider's key set, through jose's
 * remote key set: fetched keys are kept (10 minutes); a token whose `kid` is not among them
 * makes at most one fetch per `cooldownMs` (concurrent misses share it), and a miss during
 * the cooldown fails without a fetch. A flood of unknown key ids therefore costs one request
 * to the identity provider per cooldown, and known keys keep verifying from the cache.
 */
function keySetProvider(uri: string, algorithms: readonly string[], cooldownMs: number): SecretOrKeyProvider {
  const keySet = createRemoteJWKSet(new URL(uri), { cooldownDuration: cooldownMs, cacheMaxAge: 10 * 60_000 });
  return (_request, rawToken, callback) => {
    // jsonwebtoken takes a KeyObject too (the typings say string or Buffer).
    const done = callback as (error: Error | null, key?: KeyObject) => void;
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(rawToken as string);
    } catch {
      return done(new Error('invalid token'));
    }
    // Before any lookup: an HMAC or unsigned token never gets a key from a key set.
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) return done(new Error('invalid algorithm'));
    keySet(header, { payload: '', signature: '' }).then(
      (found) => done(null, found instanceof KeyObject ? found : KeyObject.from(found as webcrypto.CryptoKey)),
      (error: unknown) => done(new Error(keySetRefusal(error, header.kid))),
    );
  };
}

/** jose's key set failures in the words of the 401 answers; a failing fetch is not told apart from a bad key. */
function keySetRefusal(error: unknown, kid: string | undefined): string {
  if (error instanceof errors.JWKSNoMatchingKey) {
    return kid === undefined ? 'no signing key matches the token' : `Unable to find a signing key that matches '${kid.slice(0, 64)}'`;
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'No KID specified and JWKS endpoint returned more than 1 key';
  return 'signing keys unavailable';
}

/**
 * The reason a 401 answer gives: passport-jwt's "No auth token" is a missing bearer token,
 * and jsonwebtoken's "... expected: <issuer>" names what the service expects: not for callers.
 */
export function refusalReason(info: unknown): string {
  const reason = info instanceof Error ? info.message : 'invalid token';
  return reason === 'No auth token' ? 'missing bearer token' : reason.replace(/\. expected: .*$/s, '');
}

/** The `exp` claim in epoch milliseconds; only after verification (the signature is checked, the claims are the issuer's). */
export function expiryOf(token: string): number {
  const claims = decode(token, { json: true });
  return Number(claims?.exp) * 1000;
}
