import { Body, Controller, Get, HttpStatus, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsIn, IsString, Length } from 'class-validator';
import { ApiErrors, AUTHENTICATED_ERRORS } from '../../common/api-error.responses';
import { FamilyAccess } from '../../family/family-access.guard';
import { FamilyCaller } from '../../family/family-caller';
import { Policy, ResolutionPolicies, Suggestion } from './resolution-policies';

/** `PUT /families/:id/resolution-policies` */
export class SetPolicyDto {
  @ApiProperty({ example: 'task' })
  @IsString()
  @Length(1, 64)
  entity_type: string;

  @ApiProperty({ example: 'title' })
  @IsString()
  @Length(1, 64)
  field: string;

  @ApiProperty({ enum: ['keep_device', 'default'] })
  @IsIn(['keep_device', 'default'])
  rule: 'keep_device' | 'default';
}

/** PROTOCOL 2.12: resolution preferences learned from the inbox, accepted by an owner. */
@ApiTags('families')
@ApiBearerAuth()
@ApiParam({ name: 'id', description: 'The family id', format: 'uuid' })
@Controller('families/:id')
export class ResolutionPoliciesController {
  constructor(private readonly policies: ResolutionPolicies) {}

  @Get('resolution-suggestions')
  @FamilyAccess({ from: { param: 'id' }, role: 'owner' })
  @ApiOperation({ summary: 'Fields where the family restores the device value often enough to suggest keep_device (owners)' })
  @ApiOkResponse({
    description: '[{entity_type, field, current, suggested, decisions, restored, confidence}]',
    schema: { type: 'array', items: { type: 'object' } },
  })
  @ApiErrors(HttpStatus.FORBIDDEN, ...AUTHENTICATED_ERRORS)
  suggestions(@FamilyCaller() caller: FamilyCaller): Promise<Suggestion[]> {
    return this.policies.suggestions(caller.familyId);
  }

  @Get('resolution-policies')
  @FamilyAccess({ from: { param: 'id' }, role: 'owner' })
  @ApiOperation({ summary: "The family's accepted resolution policies (owners)" })
  @ApiOkResponse({ description: '[{entity_type, field, rule, set_by, set_at}]', schema: { type: 'array', items: { type: 'object' } } })
  @ApiErrors(HttpStatus.FORBIDDEN, ...AUTHENTICATED_ERRORS)
  list(@FamilyCaller() caller: FamilyCaller): Promise<Policy[]> {
    return this.policies.list(caller.familyId);
  }

  @Put('resolution-policies')
  @FamilyAccess({ from: { param: 'id' }, role: 'owner' })
  @ApiOperation({ summary: 'Sets keep_device for a rule-4 field, or back to default (owners); the next push uses it' })
  @ApiOkResponse({ description: 'The policies after the change', schema: { type: 'array', items: { type: 'object' } } })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.FORBIDDEN, ...AUTHENTICATED_ERRORS)
  set(@FamilyCaller() caller: FamilyCaller, @Body() body: SetPolicyDto): Promise<Policy[]> {
    return this.policies.set(caller.familyId, caller.userId, body.entity_type, body.field, body.rule);
  }
}
