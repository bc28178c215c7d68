import { applyDecorators, CanActivate, ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { isUuid } from '@app/database';
import { Caller } from '../auth/caller';
import { FAMILY_CALLER, FamilyCaller, FamilyScope } from './family-caller';
import { FamilyErrorCode, FamilyException } from './family.exception';
import { FamilyMembershipRepository } from './family-membership.repository';
import { FamilyRole } from './family-member.entity';

export interface FamilyAccessOptions {
  /** Where the family id comes from: a route parameter, or the token's `familyId` claim. */
  from: { param: string } | 'token';
  /** The least role the caller must hold. */
  role?: FamilyRole;
  /** `in-handler`: only the token's family is taken; the handler verifies membership itself (see FamilyScope). */
  membership?: 'guard' | 'in-handler';
}

const FAMILY_ACCESS = 'family:access';

@Injectable()
export class FamilyAccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly memberships: FamilyMembershipRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const options = this.reflector.get<FamilyAccessOptions>(FAMILY_ACCESS, context.getHandler());
    const request = context.switchToHttp().getRequest();
    const caller: Caller = request.user;

    let familyId: string;
    if (options.from === 'token') {
      if (!caller.familyId) throw new FamilyException(FamilyErrorCode.NoFamilyClaim);
      familyId = caller.familyId;
    } else {
      familyId = request.params[options.from.param];
      // Ids in a path never widen a token that is scoped to one family.
      if (caller.familyId !== undefined && caller.familyId !== familyId) {
        throw new FamilyException(FamilyErrorCode.OtherFamily);
      }
    }
    // Not a uuid: no such family, so certainly not a member (and no 500 from a cast).
    if (!isUuid(familyId)) throw new FamilyException(FamilyErrorCode.NotMember);
    if (options.membership === 'in-handler') {
      const scope: FamilyScope = { userId: caller.userId, familyId };
      request[FAMILY_CALLER] = scope;
      return true;
    }
    const role = await this.memberships.roleOf(familyId, caller.userId);
    if (!role) throw new FamilyException(FamilyErrorCode.NotMember);
    if (options.role === 'owner' && role !== 'owner') throw new FamilyException(FamilyErrorCode.NotOwner);

    const verified: FamilyCaller = { userId: caller.userId, familyId, role };
    request[FAMILY_CALLER] = verified;
    return true;
  }
}

/** Admits members of the family (or owners with `role: 'owner'`); 403 otherwise. */
export const FamilyAccess = (options: FamilyAccessOptions) =>
  applyDecorators(SetMetadata(FAMILY_ACCESS, options), UseGuards(FamilyAccessGuard));
