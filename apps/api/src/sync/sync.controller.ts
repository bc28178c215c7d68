import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors, AUTHENTICATED_ERRORS } from '../common/api-error.responses';
import { FamilyAccess } from '../family/family-access.guard';
import { FamilyCaller, FamilyScope } from '../family/family-caller';
import { DeltaService } from './push/delta.service';
import { jsonBody } from './pull/raw-json';
import type { DeltaRequest } from './dto/delta-request';
import { DeltaRequestDto } from './dto/delta-request.dto';
import { DeltaRequestValidator } from './request/delta-request.validator';
import { UseInputPolicy } from '../common/input-guard';
import { DELTA_INPUT_POLICY } from './request/delta-input.policy';
import { DeltaResponseDto } from './dto/delta-response.dto';
import { DELTA_REQUEST_EXAMPLES } from './dto/delta-examples';
import { DeviceDto } from './devices/device.dto';
import { DeviceHistoryEntryDto, DeviceHistoryQueryDto } from './devices/device-history.dto';
import { SyncDeviceService } from './devices/sync-device.service';
import { UserThrottlerGuard } from './rate-limit/user-throttler.guard';

@ApiTags('sync')
@ApiBearerAuth()
@Controller('sync')
export class SyncController {
  constructor(
    private readonly delta: DeltaService,
    private readonly devicesOfFamily: SyncDeviceService,
  ) {}

  @Post('delta')
  @HttpCode(200)
  @UseGuards(UserThrottlerGuard)
  @FamilyAccess({ from: 'token', membership: 'in-handler' })
  @UseInputPolicy(DELTA_INPUT_POLICY)
  @ApiOperation({ summary: 'Push changes and pull everything the device has missed, in one transaction' })
  @ApiBody({ type: DeltaRequestDto, examples: DELTA_REQUEST_EXAMPLES })
  @ApiOkResponse({ type: DeltaResponseDto, description: 'Also when there are conflicts or per-change errors' })
  @ApiErrors(
    HttpStatus.BAD_REQUEST,
    HttpStatus.FORBIDDEN,
    HttpStatus.PAYLOAD_TOO_LARGE,
    HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    HttpStatus.TOO_MANY_REQUESTS,
    ...AUTHENTICATED_ERRORS,
  )
  async sync(
    @FamilyScope() caller: FamilyScope,
    @Body(DeltaRequestValidator) request: DeltaRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<DeltaResponseDto | string> {
    // Pull pages arrive as JSON text from PostgreSQL and are written as they are.
    return jsonBody(res, await this.delta.sync(caller, request));
  }

  @Get('devices')
  @FamilyAccess({ from: 'token' })
  @ApiOperation({ summary: "The family's devices: last seen and number of syncs" })
  @ApiOkResponse({ type: [DeviceDto] })
  @ApiErrors(HttpStatus.FORBIDDEN, ...AUTHENTICATED_ERRORS)
  devices(@FamilyCaller() caller: FamilyCaller): Promise<DeviceDto[]> {
    return this.devicesOfFamily.list(caller.familyId);
  }

  @Get('devices/:deviceId/history')
  @FamilyAccess({ from: 'token' })
  @ApiOperation({ summary: "A device's latest change outcomes, newest first (support and debugging)" })
  @ApiParam({ name: 'deviceId', description: 'The device id it syncs with' })
  @ApiOkResponse({ type: [DeviceHistoryEntryDto] })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.FORBIDDEN, ...AUTHENTICATED_ERRORS)
  history(
    @FamilyCaller() caller: FamilyCaller,
    @Param('deviceId') deviceId: string,
    @Query() query: DeviceHistoryQueryDto,
  ): Promise<DeviceHistoryEntryDto[]> {
    return this.devicesOfFamily.history(caller.familyId, deviceId, query.limit);
  }
}
