import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import type { AppConfig } from '@app/config';
import { isUuid } from '@app/database';
import { Caller } from './caller';
import { loadOrCreateDevSecret } from './dev-secret';
import { keySourceOf, strategyOptions } from './jwt-verification';

interface JwtClaims {
  sub?: unknown;
  familyId?: unknown;
  exp?: unknown;
}

/**
 * The one verification of a bearer token (passport-jwt, jsonwebtoken; keys of a key set
 * through jose) and the claims the service needs. TokenVerifier runs it for every transport.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(config: ConfigService<AppConfig, true>) {
    const auth = config.get('auth', { infer: true });
    const source = keySourceOf(auth, () => {
      const dev = loadOrCreateDevSecret(config.get('dataDir', { infer: true }));
      new Logger('Auth').warn(
        `no JWT key configured: verifying development tokens with the secret ${dev.created ? 'created' : 'kept'} in ${dev.path} ` +
          '(mint one with `npm run token -- --sub alice`); set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URI for real use',
      );
      return dev.secret;
    });
    super(strategyOptions(auth, source));
  }

  validate(claims: JwtClaims): Caller {
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 128) {
      throw new UnauthorizedException('token has no valid sub claim');
    }
    // A token without expiry would be valid forever once leaked.
    if (typeof claims.exp !== 'number') throw new UnauthorizedException('token has no exp claim');
    if (claims.familyId !== undefined && (typeof claims.familyId !== 'string' || claims.familyId.length === 0)) {
      throw new UnauthorizedException('token familyId claim must be a non-empty string');
    }
    return { userId: claims.sub, familyId: canonicalFamilyId(claims.familyId) };
  }
}

/**
 * Family ids are UUIDs, stored and compared by streams and membership as PostgreSQL prints
 * them (lower case). An issuer may write them in upper case: the same family.
 */
export function canonicalFamilyId(familyId: string | undefined): string | undefined {
  return familyId !== undefined && isUuid(familyId) ? familyId.toLowerCase() : familyId;
}
