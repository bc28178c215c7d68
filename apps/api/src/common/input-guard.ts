import { CanActivate, ExecutionContext, HttpStatus, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainException } from './domain.exception';
import { describeFinding, InputFinding, printablePath, scanInput } from './input-scan';

export const INVALID_INPUT = 'invalid_input';

type InputSource = 'path' | 'query' | 'body';
const WHERE: Record<InputSource, string> = { path: 'path parameter ', query: 'query parameter ', body: '' };

/** 400: a path parameter, query parameter or body field holds what PROTOCOL 2.6 refuses. */
export class InvalidInputException extends DomainException {
  constructor(message: string, source: InputSource, field: string) {
    super(INVALID_INPUT, HttpStatus.BAD_REQUEST, message, { source, field });
  }
}

/**
 * How a route reports some findings in its body itself rather than with a 400 (POST
 * /sync/delta reports a bad `data` or `entity_type` as that change's own error).
 */
export interface InputPolicy {
  /** This finding is reported by the route (not a 400). */
  owns(finding: InputFinding): boolean;
  /**
   * Rewrites `body` so that the owned findings can be reported and nothing downstream walks
   * or stores them; called only when every finding is owned.
   */
  neutralise(body: unknown, findings: InputFinding[]): void;
}

const INPUT_POLICY = 'input:policy';
export const UseInputPolicy = (policy: InputPolicy) => SetMetadata(INPUT_POLICY, policy);

/**
 * The one gate of every input (PROTOCOL 2.6): path parameters, query and body are scanned before
 * any pipe, validator, service or SQL sees them. Global (InputGuardModule): after the JWT
 * guard, before route guards (FamilyAccess reads the path's family id from the database).
 */
@Injectable()
export class InputGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<Request>();
    refuse(scanInput(request.params)[0], 'path');
    refuse(scanInput(request.query)[0], 'query');

    const findings = scanInput(request.body);
    if (findings.length === 0) return true;
    const policy = this.reflector.get<InputPolicy | undefined>(INPUT_POLICY, context.getHandler());
    refuse(policy ? findings.find((f) => !policy.owns(f)) : findings[0], 'body');
    policy!.neutralise(request.body, findings);
    return true;
  }
}

function refuse(finding: InputFinding | undefined, source: InputSource): void {
  if (finding) throw new InvalidInputException(describeFinding(finding, WHERE[source]), source, printablePath(finding.path) || 'body');
}
