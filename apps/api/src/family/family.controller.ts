import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors, AUTHENTICATED_ERRORS } from '../common/api-error.responses';
import type { Caller } from '../auth/caller';
import { CurrentCaller } from '../auth/current-caller.decorator';
import { AddMemberDto } from './dto/add-member.dto';
import { CreateFamilyDto } from './dto/create-family.dto';
import { FamilyResponse, MemberResponse } from './dto/family.response';
import { FamilyAccess } from './family-access.guard';
import { FamilyCaller } from './family-caller';
import { FamilyService } from './family.service';

const FAMILY_ID = ApiParam({ name: 'id', description: 'The family id', schema: { type: 'string', format: 'uuid' } });
const MEMBER_ERRORS = [HttpStatus.FORBIDDEN, ...AUTHENTICATED_ERRORS];

@ApiTags('families')
@ApiBearerAuth()
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.TOO_MANY_REQUESTS)
@Controller('families')
export class FamilyController {
  constructor(private readonly families: FamilyService) {}

  @Post()
  @ApiOperation({ summary: 'Create a family; the caller becomes its owner' })
  @ApiCreatedResponse({ type: FamilyResponse })
  @ApiErrors(...AUTHENTICATED_ERRORS)
  create(@CurrentCaller() caller: Caller, @Body() dto: CreateFamilyDto): Promise<FamilyResponse> {
    return this.families.create(caller, dto.name);
  }

  @Get(':id/members')
  @FamilyAccess({ from: { param: 'id' } })
  @ApiOperation({ summary: 'List the members (members only)' })
  @FAMILY_ID
  @ApiOkResponse({ type: [MemberResponse] })
  @ApiErrors(...MEMBER_ERRORS)
  members(@FamilyCaller() caller: FamilyCaller): Promise<MemberResponse[]> {
    return this.families.members(caller.familyId);
  }

  @Post(':id/members')
  @FamilyAccess({ from: { param: 'id' }, role: 'owner' })
  @ApiOperation({ summary: 'Add a member or owner (owners only)' })
  @FAMILY_ID
  @ApiCreatedResponse({ type: MemberResponse })
  @ApiErrors(...MEMBER_ERRORS, HttpStatus.CONFLICT)
  addMember(@FamilyCaller() caller: FamilyCaller, @Body() dto: AddMemberDto): Promise<MemberResponse> {
    return this.families.addMember(caller.familyId, dto.userId, dto.role);
  }

  @Delete(':id/members/:userId')
  @HttpCode(204)
  @FamilyAccess({ from: { param: 'id' } })
  @ApiOperation({ summary: 'Remove a member (owners; a member may remove themself). The last owner cannot be removed' })
  @FAMILY_ID
  @ApiParam({ name: 'userId', description: "The member's user id" })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors(...MEMBER_ERRORS, HttpStatus.NOT_FOUND, HttpStatus.CONFLICT)
  removeMember(@FamilyCaller() caller: FamilyCaller, @Param('userId') userId: string): Promise<void> {
    return this.families.removeMember(caller, userId);
  }
}
