import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '@app/config';
import { TransactionRunner } from '@app/database';
import { FamilyScope } from '../family/family-caller';
import { FamilyErrorCode, FamilyException } from '../family/family.exception';
import { evaluateBatch } from './batch/batch-evaluator';
import { batchLoad, prepareRequest, SyncRequestContext, SyncSettings } from './batch/prepare-request';
import type { DeltaRequest } from './dto/delta-request';
import type { DeltaResponseDto } from './dto/delta-response.dto';
import { SyncDeviceRepository } from './sync-device.repository';
import { SyncHookRunner } from './sync-hooks.service';
import { SyncObserver } from './sync-observer';
import { NOTHING_PUSHED, PullResult, SyncPullService } from './sync-pull.service';
import { SyncRegistry } from './sync-registry.service';
import { SyncRepository } from './sync.repository';

const notAMember = (): never => {
  throw new FamilyException(FamilyErrorCode.NotMember);
};

/**
 * POST /sync/delta: applies a batch of client changes in one transaction and answers with
 * everything the device has missed. A push is six steps on one transaction: lock, load,
 * evaluate (pure, in memory), write, hooks, pull sent with COMMIT. Any error rolls it all
 * back (a serialization failure or deadlock runs it again: see TransactionRunner).
 */
@Injectable()
export class DeltaService {
  private readonly settings: SyncSettings;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly repo: SyncRepository,
    private readonly hooks: SyncHookRunner,
    private readonly pull: SyncPullService,
    private readonly devices: SyncDeviceRepository,
    private readonly observer: SyncObserver,
    registry: SyncRegistry,
    config: ConfigService<AppConfig, true>,
  ) {
    const sync = config.get('sync', { infer: true });
    this.settings = { maxBatch: sync.maxBatch, maxSkewUs: sync.maxClockSkewMs * 1000, find: (type) => registry.find(type) };
  }

  async sync(caller: FamilyScope, request: DeltaRequest): Promise<DeltaResponseDto> {
    const started = process.hrtime.bigint();
    const req = prepareRequest(caller, request, this.settings);
    const pulled = req.changes.length === 0 ? await this.pullOnly(req) : await this.push(req);
    await this.pull.saveCursor(req, pulled);
    this.observer.record(req, pulled.response, started);
    return pulled.response;
  }

  private push(req: SyncRequestContext): Promise<PullResult> {
    return this.tx.run(async (tx) => {
      // Every change of a family is applied under this lock, held until commit. Commit
      // positions (changed_us) are taken under it too, as max(now, last + 1µs): so positions
      // are strictly increasing in commit order, and a reader that sees the family's
      // last_us in its snapshot sees every row at or below it. `last_sync_at` is that
      // position, an exact high-watermark: the next pull (`changed_us > last_sync_at`) gets
      // every later commit exactly once, whatever order requests started in and whatever
      // the device clocks say. Other families have their own lock row and never wait.
      const clock = (await this.repo.lockFamily(tx, req.scope)) ?? notAMember();
      const loaded = await this.repo.loadBatch(tx, req, batchLoad(req));
      // atomic and failed: `discarded`, nothing of the batch is written but the device's visit.
      const batch = evaluateBatch(req, loaded, clock);
      await this.repo.writeBatch(tx, req, batch.writes);
      const positionUs = await this.hooks.afterBatch(tx, req, clock, batch);
      return this.pull.respondAndCommit(tx, req, { ...clock, lastUs: positionUs }, { ...batch, positionBeforeUs: clock.lastUs });
    });
  }

  /**
   * No changes: no lock; the watermark and the changes come from one snapshot. The device's
   * last-seen is recorded meanwhile on another pooled connection.
   */
  private async pullOnly(req: SyncRequestContext): Promise<PullResult> {
    const [pulled] = await Promise.all([
      this.tx.run(
        async (tx) => {
          const clock = (await this.repo.readFamilyClock(tx, req.scope)) ?? notAMember();
          return this.pull.respondAndCommit(tx, req, clock, NOTHING_PUSHED);
        },
        { isolation: 'REPEATABLE READ' },
      ),
      this.devices.touch(req.scope.familyId, req.deviceId, req.scope.userId),
    ]);
    return pulled;
  }
}
