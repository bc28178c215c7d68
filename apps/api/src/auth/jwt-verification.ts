import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import { AuthConfig } from '@app/config';

export type KeySource = { kind: 'secret'; secret: string } | { kind: 'public-key'; pem: string } | { kind: 'jwks'; uri: string };

export type Algorithm = 'HS256' | 'RS256' | 'ES256';

/** A token that is not accepted; the message is the one the 401 answer carries. */
export class TokenRefusal extends Error {}

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
  return match ? match[1] : null;
}

export type VerifyToken = (token: string) => Promise<JWTPayload>;

/**
 * Signature, algorithm, expiry, not-before, issuer and audience of one token; claims the
 * service itself needs (sub, exp, familyId) are checked by the strategy.
 *
 * With a key set, jose keeps the fetched keys: a token whose `kid` is not among them makes
 * at most one fetch per `cooldownMs` (concurrent misses share it), and a miss during the
 * cooldown fails without a fetch. A flood of unknown key ids therefore costs one request to
 * the identity provider per cooldown, and known keys keep verifying from the cache.
 */
export function tokenVerification(auth: AuthConfig, source: KeySource): VerifyToken {
  const algorithms = algorithmsFor(source);
  // Key objects are built once: a string key would be parsed again on every verification.
  const key: KeyObject | JWTVerifyGetKey =
    source.kind === 'jwks'
      ? createRemoteJWKSet(new URL(source.uri), { cooldownDuration: auth.jwksCooldownMs ?? 30_000, cacheMaxAge: 10 * 60_000 })
      : source.kind === 'secret'
        ? createSecretKey(Buffer.from(source.secret, 'utf8'))
        : createPublicKey(source.pem);
  const options = { algorithms, issuer: auth.issuer, audience: auth.audience, clockTolerance: 30 };
  return async (token) => {
    const malformed = shapeProblem(token);
    if (malformed) throw new TokenRefusal(malformed);
    try {
      // Two overloads of jwtVerify (a key, or a function that picks one): one call each.
      const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
      return payload;
    } catch (error) {
      throw new TokenRefusal(refusalMessage(error, token));
    }
  };
}

/** The checks that come before any key is looked up, with the messages clients already know. */
function shapeProblem(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return 'jwt malformed';
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null) return 'invalid token';
  } catch {
    return 'invalid token';
  }
  if (parts[2] === '') return 'jwt signature is required';
  return undefined;
}

function kidOf(token: string): string | undefined {
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as { kid?: unknown };
  return typeof header.kid === 'string' ? header.kid : undefined;
}

/**
 * jose's reasons in the words of the 401 answers. The expected issuer or audience is never
 * named (not for callers), and a failing key set fetch is not told apart from a bad token.
 */
function refusalMessage(error: unknown, token: string): string {
  if (error instanceof errors.JOSEAlgNotAllowed) return 'invalid algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'invalid signature';
  if (error instanceof errors.JWTExpired) return 'jwt expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'jwt not active';
    if (error.claim === 'iss') return 'jwt issuer invalid';
    if (error.claim === 'aud') return 'jwt audience invalid';
    return 'invalid token';
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    const kid = kidOf(token);
    return kid === undefined ? 'no signing key matches the token' : `Unable to find a signing key that matches '${kid.slice(0, 64)}'`;
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'No KID specified and JWKS endpoint returned more than 1 key';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return 'signing keys unavailable';
  if (error instanceof errors.JOSEError) return 'invalid token';
  // A fetch that failed (connection refused, non-JSON answer) is not a JOSEError.
  return 'signing keys unavailable';
}
