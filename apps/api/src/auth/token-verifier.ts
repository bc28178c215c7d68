import { Injectable } from '@nestjs/common';
import { JwtStrategy, VerifiedToken } from './jwt.strategy';

export type { VerifiedToken } from './jwt.strategy';

/**
 * Verifies a token wherever it arrives (the Authorization header before the body is read,
 * the WebSocket auth message) through the very strategy the HTTP guard uses: same keys,
 * algorithms, issuer, audience and claim checks.
 */
@Injectable()
export class TokenVerifier {
  constructor(private readonly strategy: JwtStrategy) {}

  verify(token: string): Promise<VerifiedToken> {
    return this.strategy.verify(token);
  }
}
