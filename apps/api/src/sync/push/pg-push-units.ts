import { Injectable } from '@nestjs/common';
import { classifyDatabaseError, WireTransaction, TransactionRunner } from '@app/database';
import { SyncDeviceRepository } from '../devices/sync-device.repository';
import { NOTHING_PUSHED, PullResult, PushedBatch, SyncPullService } from '../pull/sync-pull.service';
import type { EvaluatedBatch, FamilyClock, LoadPlan } from './batch/batch.types';
import type { GroupWrites } from './batch/group-evaluator';
import type { SyncRequestContext } from './batch/prepare-request';
import { PushUnit, PushUnits } from './push-unit';
import { SyncHookRunner } from './sync-hooks.service';
import { SyncRepository } from './sync.repository';

/** A PushUnit on one PostgreSQL transaction. */
class PgPushUnit implements PushUnit {
  constructor(
    private readonly tx: WireTransaction,
    private readonly repo: SyncRepository,
    private readonly hooks: SyncHookRunner,
    private readonly pulls: SyncPullService,
  ) {}

  lock(familyId: string, userIds: string[]) {
    return this.repo.lockFamily(this.tx, familyId, userIds);
  }

  load(familyId: string, plan: LoadPlan, userIds: string[]) {
    return this.repo.loadGroup(this.tx, familyId, plan, userIds);
  }

  write(familyId: string, writes: GroupWrites) {
    return this.repo.writeGroup(this.tx, familyId, writes);
  }

  compute(req: SyncRequestContext, clock: FamilyClock, batch: EvaluatedBatch) {
    return this.hooks.afterBatch(this.tx, req, clock, batch);
  }

  pullAndCommit(pulls: { req: SyncRequestContext; batch: PushedBatch }[], clock: FamilyClock, positionBeforeUs: number) {
    return this.pulls.respondAndCommit(this.tx, pulls, clock, positionBeforeUs);
  }
}

/** The PostgreSQL implementation of the push port (see PushUnit and WireTransaction). */
@Injectable()
export class PgPushUnits extends PushUnits {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly repo: SyncRepository,
    private readonly hooks: SyncHookRunner,
    private readonly pulls: SyncPullService,
    private readonly devices: SyncDeviceRepository,
  ) {
    super();
  }

  push<T>(work: (unit: PushUnit) => Promise<T>): Promise<T> {
    return this.tx.runWire((tx) => work(new PgPushUnit(tx, this.repo, this.hooks, this.pulls)));
  }

  /**
   * REPEATABLE READ: the watermark and the changes come from one snapshot. Usually one round
   * trip (SyncPullService.pullWithClock); a device whose plan the clock changes (a resync, a
   * watermark ahead of the family, paging with patches on) is pulled in a second transaction,
   * clock first, as before.
   */
  async pull(req: SyncRequestContext): Promise<PullResult | undefined> {
    const rr = { isolation: 'REPEATABLE READ' } as const;
    const once = await this.tx.runWire((tx) => this.pulls.pullWithClock(tx, req, this.repo.familyClock(tx, req.scope, req.deviceId)), rr);
    if (once !== 'replan') return once;
    return this.tx.runWire(async (tx) => {
      const clock = await this.repo.readFamilyClock(tx, req.scope, req.deviceId);
      if (!clock) return undefined;
      const [pulled] = await this.pulls.respondAndCommit(
        tx,
        [{ req, batch: NOTHING_PUSHED, cursor: clock.deviceCursor }],
        clock,
        clock.lastUs,
      );
      return pulled;
    }, rr);
  }

  isDatabaseFault(error: unknown): boolean {
    return classifyDatabaseError(error) !== undefined;
  }

  settle(req: SyncRequestContext, pulled: PullResult): Promise<void> {
    return this.pulls.settle(req, pulled);
  }

  touchDevice(req: SyncRequestContext): Promise<void> {
    return this.devices.touch(req.scope.familyId, req.deviceId, req.scope.userId, { sinceUs: req.since, lanes: req.lanes ?? null });
  }
}
