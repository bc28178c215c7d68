import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Caller } from '../../auth/caller';

/** SYNC_RATE_LIMIT counts per user (the token's sub), not per IP: devices behind one NAT are separate people. */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const user = req.user as Caller | undefined;
    return user ? `user:${user.userId}` : `ip:${String(req.ip)}`;
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return (await super.shouldSkip(context)) || context.switchToHttp().getRequest().method === 'GET';
  }
}
