import { ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC } from './public.decorator';

/** Global guard: every route needs a valid bearer token unless it is marked `@Public()`. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    return isPublic ? true : super.canActivate(context);
  }

  override handleRequest<TUser>(err: unknown, user: TUser | false, info: unknown): TUser {
    if (err instanceof UnauthorizedException) throw err;
    if (err || !user) {
      const reason = info instanceof Error ? info.message : err instanceof Error ? err.message : 'missing bearer token';
      // jsonwebtoken names the expected issuer/audience ("... expected: x"): not for callers.
      const safe = reason === 'No auth token' ? 'missing bearer token' : reason.replace(/\. expected: .*$/s, '');
      throw new UnauthorizedException(safe);
    }
    return user;
  }
}
