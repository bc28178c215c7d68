import { Module } from '@nestjs/common';
import { FamilyAccessGuard } from './family-access.guard';
import { FamilyController } from './family.controller';
import { FamilyMembershipRepository } from './family-membership.repository';
import { FamilyService } from './family.service';
import { FamilyRepository } from './family.repository';

@Module({
  controllers: [FamilyController],
  providers: [FamilyService, FamilyRepository, FamilyMembershipRepository, FamilyAccessGuard],
  exports: [FamilyMembershipRepository, FamilyAccessGuard],
})
export class FamilyModule {}
