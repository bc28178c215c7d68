import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { FamilyRole } from './family-member.entity';

/**
 * The token's user and family. With `@FamilyAccess({ from: 'token', membership: 'in-handler' })`
 * membership is not yet checked: the handler checks it in its own first statement (the sync
 * path folds it into the statement that takes the family lock, saving a round trip).
 */
export interface FamilyScope {
  userId: string;
  familyId: string;
}

/** A caller whose membership of `familyId` was checked on this request. */
export interface FamilyCaller extends FamilyScope {
  role: FamilyRole;
}

export const FAMILY_CALLER = 'familyCaller';

/** The verified `{userId, familyId, role}`; only on handlers guarded by `@FamilyAccess()`. */
export const FamilyCaller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): FamilyCaller => ctx.switchToHttp().getRequest()[FAMILY_CALLER],
);

/** `{userId, familyId}` of a handler guarded with `membership: 'in-handler'`. */
export const FamilyScope = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): FamilyScope => ctx.switchToHttp().getRequest()[FAMILY_CALLER],
);
