import { Injectable, UnauthorizedException } from '@nestjs/common';
import { decode } from 'jsonwebtoken';
import { Caller } from './caller';
import { JwtStrategy } from './jwt.strategy';

export interface VerifiedToken {
  caller: Caller;
  /** The `exp` claim in epoch milliseconds (the strategy refuses tokens without one). */
  expiresAtMs: number;
}

interface Attempt {
  success(user: Caller): void;
  fail(info?: unknown): void;
  error(err: unknown): void;
  authenticate(req: unknown): void;
}

/**
 * Verifies a token that does not arrive in an Authorization header (the WebSocket auth
 * message) through the very strategy the HTTP guard uses: same keys, algorithms, issuer,
 * audience and claim checks. Runs passport's protocol on a per-attempt copy of the strategy.
 */
@Injectable()
export class TokenVerifier {
  constructor(private readonly strategy: JwtStrategy) {}

  verify(token: string): Promise<VerifiedToken> {
    return new Promise((resolve, reject) => {
      const attempt = Object.create(this.strategy) as Attempt;
      attempt.success = (caller) => resolve({ caller, expiresAtMs: expiryOf(token) });
      attempt.fail = (info) => reject(new UnauthorizedException(info instanceof Error ? info.message : 'invalid token'));
      attempt.error = (err) => reject(err instanceof UnauthorizedException ? err : new UnauthorizedException('invalid token'));
      attempt.authenticate({ headers: { authorization: `Bearer ${token}` } });
    });
  }
}

/** Only after verification: the signature is checked, the claims are the issuer's. */
export function expiryOf(token: string): number {
  const claims = decode(token, { json: true });
  return Number(claims?.exp) * 1000;
}
