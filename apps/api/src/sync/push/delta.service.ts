import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '@app/config';
import { FamilyScope } from '../../family/family-caller';
import { FamilyErrorCode, FamilyException } from '../../family/family.exception';
import type { FamilyClock } from './batch/batch.types';
import { EvaluatedGroup, evaluateGroup } from './batch/group-evaluator';
import { RequestRecord, requestRecord } from './batch/request-record';
import { loadPlan, prepareRequest, SyncRequestContext, SyncSettings, syncSettings } from './batch/prepare-request';
import { GroupSession, CommitQueue, Settled } from './commit-queue';
import type { DeltaRequest } from '../dto/delta-request';
import type { DeltaResponseDto } from '../dto/delta-response.dto';
import { SyncObserver } from '../metrics/sync-observer';
import type { PullResult } from '../pull/sync-pull.service';
import { SyncRegistry } from '../sync-registry.service';
import { zip } from '../zip';
import { PushUnit, PushUnits } from './push-unit';

const notMember = () => new FamilyException(FamilyErrorCode.NotMember);

const usersOf = (reqs: SyncRequestContext[]) => [...new Set(reqs.map((r) => r.scope.userId))];

/** At most this many requests of one family share a transaction. */
const MAX_GROUP = 32;

/**
 * POST /sync/delta: applies a batch of client changes in one transaction and answers with
 * everything the device has missed. A push is six steps on one transaction: lock, load,
 * evaluate (pure, in memory), write, hooks, pull sent with COMMIT. The pushes of one family
 * waiting on this instance share those steps (group commit). Any error rolls it all
 * back (a serialization failure or deadlock runs it again: see TransactionRunner).
 */
@Injectable()
export class DeltaService {
  private readonly settings: SyncSettings;
  /** PROTOCOL 2.11: pushes are recorded (SYNC_REPLAY_DAYS > 0). */
  private readonly recording: boolean;
  private readonly groups = new CommitQueue<SyncRequestContext, PullResult>((session) => this.runGroup(session), MAX_GROUP);

  constructor(
    private readonly units: PushUnits,
    private readonly observer: SyncObserver,
    private readonly registry: SyncRegistry,
    config: ConfigService<AppConfig, true>,
  ) {
    const sync = config.get('sync', { infer: true });
    this.recording = sync.replayDays > 0;
    this.settings = syncSettings(sync, this.registry);
  }

  async sync(caller: FamilyScope, request: DeltaRequest): Promise<DeltaResponseDto> {
    const started = process.hrtime.bigint();
    const req = prepareRequest(caller, request, this.settings);
    const pulled = req.changes.length === 0 ? await this.pullOnly(req) : await this.push(req);
    await this.units.settle(req, pulled);
    this.observer.record(req, pulled.response, started);
    return pulled.response;
  }

  /**
   * Group commit: the pushes of one family that arrive while one of its groups runs on this
   * instance wait and then run together as the next group (see CommitQueue).
   */
  private async push(req: SyncRequestContext): Promise<PullResult> {
    this.observer.inFlight(1);
    try {
      return await this.groups.submit(req.scope.familyId, req);
    } finally {
      this.observer.inFlight(-1);
    }
  }

  /**
   * One group in one transaction; every request keeps its own outcomes, receipts and pull.
   * A fault rolls the whole group back and every request of it gets the error (a lost
   * connection: 503, resent bodies apply exactly once). An error that is not transient (a
   * data exception, a bug) may belong to one request only: then each runs again alone.
   */
  private async runGroup(session: GroupSession<SyncRequestContext>): Promise<Settled<PullResult>[]> {
    try {
      return await this.units.push((unit) => this.pushGroup(unit, session));
    } catch (error) {
      const reqs = session.take();
      if (reqs.length === 1 || this.units.isDatabaseFault(error)) throw error;
      return this.runEachAlone(reqs);
    }
  }

  /** After a group failed with an error that may be one request's own: each request in a transaction of its own, in order. */
  private async runEachAlone(reqs: SyncRequestContext[]): Promise<Settled<PullResult>[]> {
    const settled: Settled<PullResult>[] = [];
    for (const req of reqs) {
      const alone: GroupSession<SyncRequestContext> = { locked: () => undefined, peek: () => [req], take: () => [req] };
      settled.push(
        await this.units
          .push((unit) => this.pushGroup(unit, alone))
          .then(
            ([one]) => one ?? { error: new Error('the push gave no answer for this request') },
            (failure: unknown) => ({ error: failure }),
          ),
      );
    }
    return settled;
  }

  private async pushGroup(unit: PushUnit, session: GroupSession<SyncRequestContext>): Promise<Settled<PullResult>[]> {
    const asked = session.peek();
    const familyId = asked[0]?.scope.familyId;
    if (familyId === undefined) return [];
    // Every change of a family is applied under this lock, held until commit. Commit
    // positions (changed_us) are taken under it too, as max(now, last + 1µs): so positions
    // are strictly increasing in commit order, and a reader that sees the family's
    // last_us in its snapshot sees every row at or below it. `last_sync_at` is that
    // position, an exact high-watermark: the next pull (`changed_us > last_sync_at`) gets
    // every later commit exactly once, whatever order requests started in and whatever
    // the device clocks say. Other families have their own lock row and never wait.
    const clock = await unit.lock(familyId, usersOf(asked));
    // None of their users is a member: those requests are refused; any that joined meanwhile run next.
    if (!clock) return session.take(asked.length).map(() => ({ error: notMember() }));
    session.locked();
    // Requests that arrived meanwhile joined; the group closes here: its load covers them all.
    const reqs = session.take();
    // Another group of ours got the lock first and took these requests along: nothing to answer.
    // The transaction only read (and at most created) the lock row; committing it ends it.
    if (reqs.length === 0) return [];
    this.observer.group(reqs.length);
    const loaded = await unit.load(familyId, loadPlan(reqs), usersOf(reqs));
    const members = reqs.filter((r) => loaded.members.has(r.scope.userId));
    // atomic and failed: `discarded`, nothing of that request is written but the device's visit.
    const group = evaluateGroup(members, loaded, clock, (table) => this.registry.typeOf(table));
    const records = this.recordsOf(members, group, clock);
    await unit.write(familyId, { ...group.writes, records: [...records.values()] });
    const pushed = zip(members, group.batches).map(([req, batch]) => ({ req, batch }));
    let positionUs = group.positionUs;
    for (const { req, batch } of pushed) positionUs = await unit.compute(req, clock, { ...batch, positionUs });
    const pulled = await unit.pullAndCommit(pushed, { ...clock, lastUs: positionUs }, clock.lastUs);
    const byReq = new Map(zip(members, pulled));
    return reqs.map((req) => {
      const value = byReq.get(req);
      if (value && records.has(req)) value.response.request_id = req.id;
      return value ? { value } : { error: notMember() };
    });
  }

  /** PROTOCOL 2.11: each push's record (none when SYNC_REPLAY_DAYS is 0, or every change was a retry). */
  private recordsOf(reqs: SyncRequestContext[], group: EvaluatedGroup, clock: FamilyClock): Map<SyncRequestContext, RequestRecord> {
    const records = new Map<SyncRequestContext, RequestRecord>();
    if (!this.recording) return records;
    let positionBeforeUs = clock.lastUs;
    zip(reqs, zip(group.batches, group.befores)).forEach(([req, [batch, before]]) => {
      const changes = req.changes.map((p) =>
        p.refused && p.valid && !p.valid.ok ? { ...p.change, data: undefined, refused: p.valid.message } : p.change,
      );
      const who = { deviceId: req.deviceId, userId: req.scope.userId, atomic: req.atomic, maxSkewUs: req.maxSkewUs, changes };
      const record = requestRecord(req.id, who, batch, before, { positionBeforeUs, nowUs: clock.nowUs });
      if (record) records.set(req, record);
      positionBeforeUs = batch.positionUs;
    });
    this.observer.recorded(records.size);
    return records;
  }

  /**
   * No changes: no lock; the watermark and the changes come from one snapshot. The device's
   * last-seen is recorded meanwhile on another pooled connection.
   */
  private async pullOnly(req: SyncRequestContext): Promise<PullResult> {
    const [pulled] = await Promise.all([this.units.pull(req), this.units.touchDevice(req)]);
    if (!pulled) throw notMember();
    return pulled;
  }
}
