import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, AUTHENTICATED_ERRORS } from '../../common/api-error.responses';
import { FamilyAccess } from '../../family/family-access.guard';
import { FamilyCaller } from '../../family/family-caller';
import { ExplainDto, ExplainQueryDto, RequestListQueryDto, RequestSummaryDto } from './sync-requests.dto';
import { SyncRequestsService } from './sync-requests.service';
import type { ReplayAnswer } from './request-replay';

/** PROTOCOL 2.11: what a device sent, what each rule decided, a replay, and explain. */
@ApiTags('sync')
@ApiBearerAuth()
@Controller('sync')
export class SyncRequestsController {
  constructor(private readonly requests: SyncRequestsService) {}

  @Get('requests')
  @FamilyAccess({ from: 'token', role: 'owner' })
  @ApiOperation({ summary: 'Recent push records, newest first (family owners; kept SYNC_REPLAY_DAYS)' })
  @ApiOkResponse({ type: [RequestSummaryDto] })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.FORBIDDEN, ...AUTHENTICATED_ERRORS)
  list(@FamilyCaller() caller: FamilyCaller, @Query() q: RequestListQueryDto): Promise<RequestSummaryDto[]> {
    return this.requests.list(caller.familyId, q.device_id, q.limit);
  }

  @Get('requests/:id')
  @FamilyAccess({ from: 'token', role: 'owner' })
  @ApiOperation({ summary: 'One push record: the changes, the state they met, each outcome and its rule (family owners)' })
  @ApiOkResponse({
    description:
      '{id, at, deviceId, userId, positionBeforeUs, positionUs, serverUs, atomic, discarded, maxSkewUs, changes, before, outcomes, ...}',
    schema: { type: 'object', additionalProperties: true },
  })
  @ApiErrors(HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND, ...AUTHENTICATED_ERRORS)
  record(@FamilyCaller() caller: FamilyCaller, @Param('id') id: string): Promise<object> {
    return this.requests.record(caller.familyId, id);
  }

  @Post('requests/:id/replay')
  @HttpCode(200)
  @FamilyAccess({ from: 'token', role: 'owner' })
  @ApiOperation({ summary: "Re-decides a push record's changes with today's rules on the recorded state, in memory (family owners)" })
  @ApiOkResponse({
    description: '{request_id, same, changes: [{index, entity_type, entity_id, rule, recorded, replayed, same}]}',
    schema: { type: 'object', additionalProperties: true },
  })
  @ApiErrors(HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND, ...AUTHENTICATED_ERRORS)
  replay(@FamilyCaller() caller: FamilyCaller, @Param('id') id: string): Promise<ReplayAnswer> {
    return this.requests.replay(caller.familyId, id);
  }

  @Get('explain')
  @FamilyAccess({ from: 'token' })
  @ApiOperation({ summary: "Whether a device has an entity's latest state, and why not (family members)" })
  @ApiOkResponse({ type: ExplainDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.FORBIDDEN, ...AUTHENTICATED_ERRORS)
  explain(@FamilyCaller() caller: FamilyCaller, @Query() q: ExplainQueryDto): Promise<ExplainDto> {
    return this.requests.explain(caller.familyId, q);
  }
}
