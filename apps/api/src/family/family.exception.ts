import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception';

export enum FamilyErrorCode {
  NotMember = 'not_a_member',
  NotOwner = 'owner_required',
  NoFamilyClaim = 'no_family_in_token',
  OtherFamily = 'token_scoped_to_other_family',
  AlreadyMember = 'already_a_member',
  MemberNotFound = 'member_not_found',
  LastOwner = 'last_owner',
}

const STATUS: Record<FamilyErrorCode, HttpStatus> = {
  [FamilyErrorCode.NotMember]: HttpStatus.FORBIDDEN,
  [FamilyErrorCode.NotOwner]: HttpStatus.FORBIDDEN,
  [FamilyErrorCode.NoFamilyClaim]: HttpStatus.FORBIDDEN,
  [FamilyErrorCode.OtherFamily]: HttpStatus.FORBIDDEN,
  [FamilyErrorCode.AlreadyMember]: HttpStatus.CONFLICT,
  [FamilyErrorCode.MemberNotFound]: HttpStatus.NOT_FOUND,
  [FamilyErrorCode.LastOwner]: HttpStatus.CONFLICT,
};

const MESSAGE: Record<FamilyErrorCode, string> = {
  [FamilyErrorCode.NotMember]: 'you are not a member of this family',
  [FamilyErrorCode.NotOwner]: 'only an owner of this family may do this',
  [FamilyErrorCode.NoFamilyClaim]: 'this endpoint needs a token with a familyId claim',
  [FamilyErrorCode.OtherFamily]: "the token's familyId names another family",
  [FamilyErrorCode.AlreadyMember]: 'the user is already a member of this family',
  [FamilyErrorCode.MemberNotFound]: 'the user is not a member of this family',
  [FamilyErrorCode.LastOwner]: 'a family must keep at least one owner',
};

export class FamilyException extends DomainException {
  constructor(code: FamilyErrorCode, details?: Record<string, unknown>) {
    super(code, STATUS[code], MESSAGE[code], details);
  }
}
