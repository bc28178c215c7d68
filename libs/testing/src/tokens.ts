import { sign, SignOptions } from 'jsonwebtoken';

/** The HS256 secret the e2e apps are configured with. */
export const TEST_JWT_SECRET = 'e2e-secret-that-is-long-enough-for-hs256-0123456789';

export interface TokenClaims {
  sub: string;
  familyId?: string;
  [claim: string]: unknown;
}

export function mintToken(claims: TokenClaims, options: SignOptions = {}, secret: string = TEST_JWT_SECRET): string {
  return sign(claims, secret, { algorithm: 'HS256', expiresIn: '1h', ...options });
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
