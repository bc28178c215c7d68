import { Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '@app/config';
import { Caller } from './caller';
import { expiryOf, refusalReason } from './jwt-verification';
import { JwtStrategy } from './jwt.strategy';
import { VerifiedTokenCache } from './verified-token-cache';

export interface VerifiedToken {
  caller: Caller;
  /** The `exp` claim in epoch milliseconds (tokens without one are refused). */
  expiresAtMs: number;
}

/** One attempt of passport's protocol on the strategy. */
interface Attempt {
  success(user: Caller): void;
  fail(info?: unknown): void;
  error(err: unknown): void;
  authenticate(req: unknown): void;
}

/**
 * Verifies a token wherever it arrives (the Authorization header before the body is read,
 * the WebSocket auth message) through the one strategy: same keys, algorithms, issuer,
 * audience and claim checks. Runs passport's protocol on a per-attempt copy of the strategy.
 * A token that verified is remembered for a minute at most (JWT_CACHE_SIZE, VerifiedTokenCache).
 */
@Injectable()
export class TokenVerifier {
  private readonly cache: VerifiedTokenCache;

  constructor(
    private readonly strategy: JwtStrategy,
    config: ConfigService<AppConfig, true>,
  ) {
    this.cache = new VerifiedTokenCache(config.get('auth', { infer: true }).cacheSize ?? 0);
  }

  /** Resolves with the caller, or rejects with an UnauthorizedException carrying the reason. */
  async verify(token: string): Promise<VerifiedToken> {
    const cached = this.cache.get(token, Date.now());
    if (cached) return cached;
    const verified = await this.verifyNow(token);
    this.cache.set(token, verified, Date.now());
    return verified;
  }

  private verifyNow(token: string): Promise<VerifiedToken> {
    return new Promise((resolve, reject) => {
      const attempt = Object.create(this.strategy) as Attempt;
      attempt.success = (caller) => resolve({ caller, expiresAtMs: expiryOf(token) });
      attempt.fail = (info) => reject(new UnauthorizedException(refusalReason(info)));
      attempt.error = (err) => reject(err instanceof UnauthorizedException ? err : new UnauthorizedException(refusalReason(err)));
      attempt.authenticate({ headers: { authorization: `Bearer ${token}` } });
    });
  }
}
