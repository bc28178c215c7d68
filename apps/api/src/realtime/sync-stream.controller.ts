import { BeforeApplicationShutdown, Controller, Get, Headers, HttpStatus, OnModuleInit, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiErrors, AUTHENTICATED_ERRORS } from '../common/api-error.responses';
import type { Response } from 'express';
import { expiryOf } from '../auth/jwt-verification';
import { FamilyAccess } from '../family/family-access.guard';
import { FamilyCaller } from '../family/family-caller';
import { RealtimeErrorCode, RealtimeException } from './realtime.exception';
import { RealtimeMetrics } from './realtime.metrics';
import { RealtimeRepository } from './realtime.repository';
import { SsePokeStream } from './sse-poke-stream';
import { StreamHub } from './stream-hub';
import { deviceIdProblem } from './stream-rules';

/** A comment on every SSE stream this often (PROTOCOL 2.7: at least every 25 s). */
export const SSE_KEEP_ALIVE_MS = 20_000;

@ApiTags('sync')
@ApiBearerAuth()
@Controller('sync')
export class SyncStreamController implements OnModuleInit, BeforeApplicationShutdown {
  private keepAlive?: NodeJS.Timeout;

  constructor(
    private readonly hub: StreamHub,
    private readonly repo: RealtimeRepository,
    private readonly metrics: RealtimeMetrics,
  ) {}

  onModuleInit(): void {
    // One timer for every stream of the instance, not one per stream.
    this.keepAlive = setInterval(() => {
      for (const stream of this.hub.streams()) if (stream instanceof SsePokeStream) stream.keepAlive();
    }, SSE_KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.keepAlive);
  }

  /** Refusals (401 by the global guard, 403 by the family guard, 400, 429) come before the stream starts. */
  @Get('stream')
  @FamilyAccess({ from: 'token' })
  @ApiOperation({ summary: 'Server-sent events: `ready`, then a `poke` with the newest position after every commit of the family' })
  @ApiQuery({ name: 'device_id', required: true, description: 'This device: its own commits do not poke it' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description:
      'An event stream: `event: ready` then `event: poke`, each with `data: {"last_changed_at":"<position>"}` (send it as last_sync_at); ' +
      'a comment line at least every 25 s; `event: end` with `{"code":4401|4403|1012,"reason"}` before the server ends it (token expired, ' +
      'no longer a member, shutting down).',
    content: {
      'text/event-stream': {
        schema: { type: 'string', example: 'event: ready\ndata: {"last_changed_at":"2025-11-11T15:00:00.123456Z"}\n\n' },
      },
    },
  })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS, ...AUTHENTICATED_ERRORS)
  async stream(
    @FamilyCaller() caller: FamilyCaller,
    @Query('device_id') deviceId: unknown,
    @Headers('authorization') authorization: string,
    @Res() response: Response,
  ): Promise<void> {
    const problem = deviceIdProblem(deviceId);
    if (problem) throw new RealtimeException(RealtimeErrorCode.BadDeviceId, problem);
    const identity = { userId: caller.userId, familyId: caller.familyId, deviceId: deviceId as string, transport: 'sse' as const };
    const stream = new SsePokeStream(
      response,
      identity,
      () => this.metrics.poked(),
      (s, code) => this.hub.closed(s, code),
    );
    if (!this.hub.open(stream)) {
      throw new RealtimeException(RealtimeErrorCode.TooManyStreams, 'too many open streams for this user', {
        limit: 'SYNC_MAX_STREAMS_PER_USER',
      });
    }
    let position: string;
    try {
      position = await this.repo.position(caller.familyId);
    } catch (error) {
      this.hub.closed(stream, 1011);
      throw error;
    }
    response.status(200);
    response.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    // no-transform: the compression middleware would buffer the events.
    response.setHeader('Cache-Control', 'no-cache, no-transform');
    response.setHeader('X-Accel-Buffering', 'no');
    response.flushHeaders();
    stream.ready(position);
    stream.expireAt(expiryOf(authorization.replace(/^Bearer\s+/i, '')));
  }
}
