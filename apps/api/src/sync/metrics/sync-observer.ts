import { Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { SyncRequestContext } from '../push/batch/prepare-request';
import type { DeltaResponseDto } from '../dto/delta-response.dto';
import { SyncMetrics } from './sync-metrics';
import { SyncRegistry } from '../sync-registry.service';

/** Metrics and the one log line of a sync (counts only: no token, no entity data). */
@Injectable()
export class SyncObserver {
  constructor(
    private readonly metrics: SyncMetrics,
    private readonly registry: SyncRegistry,
    @InjectPinoLogger('DeltaService') private readonly logger: PinoLogger,
  ) {}

  /** Push records written with a group (PROTOCOL 2.11). */
  recorded(count: number): void {
    if (count > 0) this.metrics.recordsWritten.inc(count);
  }

  /** A replay of a push record (PROTOCOL 2.11). */
  replayed(same: boolean): void {
    this.metrics.replays.inc({ same: String(same) });
  }

  /** A push entered (+1) or left (-1) the group commit queue. */
  inFlight(delta: 1 | -1): void {
    this.metrics.pushesInFlight.inc(delta);
  }

  /** One group commit of `requests` pushes. */
  group(requests: number): void {
    this.metrics.groupSize.observe(requests);
  }

  record(req: SyncRequestContext, response: DeltaResponseDto, started: bigint): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.recordSync(req.changes.length, response, (type) => (this.registry.find(type) ? type : 'unknown'));
    this.logger.info(
      {
        userId: req.scope.userId,
        familyId: req.scope.familyId,
        deviceId: req.deviceId,
        changes: req.changes.length,
        applied: response.applied_count,
        conflicts: response.conflicts.length,
        errors: response.error_count,
        serverChanges: response.server_changes.length,
        hasMore: response.has_more,
        atomic: req.atomic,
        durationMs: Math.round(seconds * 1e4) / 10,
      },
      'sync',
    );
  }
}
