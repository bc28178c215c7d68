import { Controller, Get, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { NextFunction, Request, Response } from 'express';
import { authenticateBeforeBody } from './authenticate-before-body';
import { JwtAuthGuard } from './jwt-auth.guard';
import { Public } from './public.decorator';
import { RouteTable, RouteKind } from './route-table';
import { TokenVerifier } from './token-verifier';

@Controller('probe')
class ProbeController {
  @Get()
  guarded(): void {}

  @Public()
  @Get('open')
  open(): void {}
}

const CALLER = { userId: 'alice', familyId: 'f' };

function setup() {
  const verify = jest.fn(async (token: string) => {
    if (token !== 'good') throw new UnauthorizedException('invalid signature');
    return { caller: CALLER, expiresAtMs: Date.now() + 60_000 };
  });
  const verifier = { verify } as unknown as TokenVerifier;
  const guard = new JwtAuthGuard(new Reflector(), verifier);
  const routes = (kind: RouteKind) => ({ kindOf: async () => kind }) as unknown as RouteTable;
  const contextOf = (req: Partial<Request>, handler: keyof ProbeController) =>
    new ExecutionContextHost([req, {}], ProbeController, ProbeController.prototype[handler]);
  const passBeforeBody = (req: Partial<Request>, kind: RouteKind = 'guarded') =>
    new Promise<unknown>((resolve) =>
      authenticateBeforeBody(verifier, routes(kind))(
        req as Request,
        { setHeader: jest.fn() } as unknown as Response,
        resolve as NextFunction,
      ),
    );
  return { verify, guard, contextOf, passBeforeBody };
}

describe('JwtAuthGuard with authenticateBeforeBody', () => {
  it('accepts a request verified before the body without verifying it again', async () => {
    const { verify, guard, contextOf, passBeforeBody } = setup();
    const req: Partial<Request> & { user?: unknown } = { headers: { authorization: 'Bearer good' } };
    expect(await passBeforeBody(req)).toBeUndefined();
    expect(req.user).toEqual(CALLER);
    await expect(guard.canActivate(contextOf(req, 'guarded'))).resolves.toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('passes the refusal on to the error handler, the caller unset', async () => {
    const { passBeforeBody } = setup();
    const req: Partial<Request> & { user?: unknown } = { headers: { authorization: 'Bearer bad' } };
    expect(await passBeforeBody(req)).toEqual(new UnauthorizedException('invalid signature'));
    expect(req.user).toBeUndefined();
  });

  it('verifies a request that did not pass the step itself (an app without the production pipeline)', async () => {
    const { verify, guard, contextOf } = setup();
    const req: Partial<Request> & { user?: unknown } = { headers: { authorization: 'Bearer good' } };
    await expect(guard.canActivate(contextOf(req, 'guarded'))).resolves.toBe(true);
    expect(req.user).toEqual(CALLER);
    expect(verify).toHaveBeenCalledTimes(1);
    await expect(guard.canActivate(contextOf({ headers: {} }, 'guarded'))).rejects.toThrow('missing bearer token');
  });

  it('a caller set on the request by anything else is not taken for verified', async () => {
    const { guard, contextOf } = setup();
    const req = { headers: {}, user: CALLER } as Partial<Request>;
    await expect(guard.canActivate(contextOf(req, 'guarded'))).rejects.toThrow('missing bearer token');
  });

  it('opens @Public() handlers without a token', async () => {
    const { verify, guard, contextOf } = setup();
    await expect(guard.canActivate(contextOf({ headers: {} }, 'open'))).resolves.toBe(true);
    expect(verify).not.toHaveBeenCalled();
  });
});
