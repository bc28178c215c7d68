import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../auth/caller';
import { CurrentCaller } from '../auth/current-caller.decorator';
import { AddMemberDto } from './dto/add-member.dto';
import { CreateFamilyDto } from './dto/create-family.dto';
import { FamilyResponse, MemberResponse } from './dto/family.response';
import { FamilyAccess } from './family-access.guard';
import { FamilyCaller } from './family-caller';
import { FamilyService } from './family.service';

@ApiTags('families')
@ApiBearerAuth()
@Controller('families')
export class FamilyController {
  constructor(private readonly families: FamilyService) {}

  @Post()
  @ApiOperation({ summary: 'Create a family; the caller becomes its owner' })
  create(@CurrentCaller() caller: Caller, @Body() dto: CreateFamilyDto): Promise<FamilyResponse> {
    return this.families.create(caller, dto.name);
  }

  @Get(':id/members')
  @FamilyAccess({ from: { param: 'id' } })
  @ApiOperation({ summary: 'List the members (members only)' })
  @ApiForbiddenResponse({ description: 'not a member' })
  members(@FamilyCaller() caller: FamilyCaller): Promise<MemberResponse[]> {
    return this.families.members(caller.familyId);
  }

  @Post(':id/members')
  @FamilyAccess({ from: { param: 'id' }, role: 'owner' })
  @ApiOperation({ summary: 'Add a member or owner (owners only)' })
  addMember(@FamilyCaller() caller: FamilyCaller, @Body() dto: AddMemberDto): Promise<MemberResponse> {
    return this.families.addMember(caller.familyId, dto.userId, dto.role);
  }

  @Delete(':id/members/:userId')
  @HttpCode(204)
  @FamilyAccess({ from: { param: 'id' } })
  @ApiOperation({ summary: 'Remove a member (owners; a member may remove themself). The last owner cannot be removed' })
  removeMember(@FamilyCaller() caller: FamilyCaller, @Param('userId') userId: string): Promise<void> {
    return this.families.removeMember(caller, userId);
  }
}
