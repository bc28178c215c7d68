import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { FamilyRole } from './family-member.entity';

/** A caller whose membership of `familyId` was checked on this request. */
export interface FamilyCaller {
  userId: string;
  familyId: string;
  role: FamilyRole;
}

export const FAMILY_CALLER = 'familyCaller';

/** The verified `{userId, familyId, role}`; only on handlers guarded by `@FamilyAccess()`. */
export const FamilyCaller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): FamilyCaller => ctx.switchToHttp().getRequest()[FAMILY_CALLER],
);
