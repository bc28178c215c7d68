import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { authenticate, verifiedBeforeBody } from './authenticate-before-body';
import { IS_PUBLIC } from './public.decorator';
import { TokenVerifier } from './token-verifier';

/**
 * Global guard: every route needs a valid bearer token unless it is marked `@Public()`.
 * The token was normally verified before the body was read (authenticateBeforeBody); the
 * guard verifies it itself only for a request that did not pass that step (an app without
 * the production pipeline).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (!verifiedBeforeBody(req)) await authenticate(req, this.verifier);
    return true;
  }
}
