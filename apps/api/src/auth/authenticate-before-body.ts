import { NotFoundException, UnauthorizedException } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Caller } from './caller';
import { bearerTokenOf } from './jwt-verification';
import { RouteTable } from './route-table';
import { TokenVerifier } from './token-verifier';

const verifiedRequests = new WeakSet<object>();

/** Did `authenticateBeforeBody` verify this request's token (the guard then accepts it as is)? */
export function verifiedBeforeBody(req: object): boolean {
  return verifiedRequests.has(req);
}

/**
 * An Express step placed before the body parser: a request to a route that is not
 * `@Public()` needs a valid bearer token before its body is inflated and parsed, so a client
 * without one cannot make the service inflate a gzip bomb (30 parallel 5 KB bodies that
 * inflate to 4.8 MB each held the service for 14 s and grew it by over 500 MB). The verified
 * caller is kept on the request for the guard. A request no controller handles is answered
 * 404 here, its body unread too. A refusal closes the connection: its body is not read, and
 * the next request of that client opens a new one.
 */
export function authenticateBeforeBody(
  verifier: TokenVerifier,
  routes: RouteTable,
  onRefused: (req: Request, status: number, reason: string) => void = () => undefined,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    admit(req, res, verifier, routes).then(
      () => next(),
      (error: unknown) => {
        if (error instanceof UnauthorizedException || error instanceof NotFoundException) {
          res.setHeader('Connection', 'close');
          // Answered before the request logger runs (a module middleware): the refusal says so itself.
          onRefused(req, error.getStatus(), error.message);
        }
        next(error);
      },
    );
  };
}

async function admit(req: Request, res: Response, verifier: TokenVerifier, routes: RouteTable): Promise<void> {
  const kind = await routes.kindOf(req, res);
  if (kind === 'public') return;
  // No handler would read the body: Nest's own 404, without parsing it.
  if (kind === 'unknown') throw new NotFoundException(`Cannot ${req.method} ${req.originalUrl}`);
  await authenticate(req, verifier);
  verifiedRequests.add(req);
}

/** The request's bearer token, verified; its caller becomes `req.user` (401 without a valid one). */
export async function authenticate(req: Request, verifier: TokenVerifier): Promise<void> {
  const token = bearerTokenOf(req.headers.authorization);
  if (token === null) throw new UnauthorizedException('missing bearer token');
  (req as Request & { user?: Caller }).user = (await verifier.verify(token)).caller;
}
