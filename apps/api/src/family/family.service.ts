import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '@app/database';
import { Caller } from '../auth/caller';
import { FamilyCaller } from './family-caller';
import { FamilyErrorCode, FamilyException } from './family.exception';
import { FamilyRole } from './family-member.entity';
import { FamilyResponse, MemberResponse } from './dto/family.response';
import { FamilyRepository } from './family.repository';

@Injectable()
export class FamilyService {
  constructor(
    private readonly repo: FamilyRepository,
    private readonly tx: TransactionRunner,
  ) {}

  async create(caller: Caller, name: string): Promise<FamilyResponse> {
    const family = await this.repo.create(name, caller.userId);
    return { ...family, role: 'owner' };
  }

  members(familyId: string): Promise<MemberResponse[]> {
    return this.repo.members(familyId);
  }

  async addMember(familyId: string, userId: string, role: FamilyRole): Promise<MemberResponse> {
    const member = await this.repo.addMember(familyId, userId, role);
    if (!member) throw new FamilyException(FamilyErrorCode.AlreadyMember, { userId });
    return member;
  }

  /**
   * Owners remove anyone; a member may remove only themself (leave). The family row is
   * locked first, so two owners removing each other at the same time cannot both succeed
   * and leave the family without an owner.
   */
  async removeMember(caller: FamilyCaller, userId: string): Promise<void> {
    if (caller.role !== 'owner' && caller.userId !== userId) throw new FamilyException(FamilyErrorCode.NotOwner);
    await this.tx.run(async (tx) => {
      const members = await this.repo.lockMembers(tx, caller.familyId);
      const me = members.find((m) => m.user_id === caller.userId);
      if (!me || (me.role !== 'owner' && caller.userId !== userId)) {
        throw new FamilyException(me ? FamilyErrorCode.NotOwner : FamilyErrorCode.NotMember);
      }
      const target = members.find((m) => m.user_id === userId);
      if (!target) throw new FamilyException(FamilyErrorCode.MemberNotFound, { userId });
      if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
        throw new FamilyException(FamilyErrorCode.LastOwner);
      }
      await this.repo.deleteMember(tx, caller.familyId, userId);
    });
  }
}
