import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '@app/config';
import type { WireTransaction } from '@app/database';
import { Lane, LANES, microsToIso } from '@app/sync-contract';
import type { EvaluatedBatch, FamilyClock } from '../push/batch/batch.types';
import type { SyncRequestContext } from '../push/batch/prepare-request';
import type { DeltaResponseDto } from '../dto/delta-response.dto';
import { assembleResponse } from './delta-response.assembler';
import type { CommitNotice } from './commit-notice';
import { laneKey, laneStand } from './lanes';
import { DeviceCursor, PulledJsonPage, PullQuery, SyncPullRepository } from './sync-pull.repository';
import { SyncRegistry } from '../sync-registry.service';
import { zip } from '../zip';

export interface PullResult {
  response: DeltaResponseDto;
  /** Set when a full state's page ended below the horizon: saved for the device after the commit. */
  cursor?: { cursorUs: number; lanes: string; horizonUs: number };
  /** With lanes: the lanes with changes still to come and where they start (`backlog`, counted after the commit). */
  behind?: Partial<Record<Lane, number>>;
}

/** What the pull needs of the push: outcomes, what not to echo, what a later request of its group changed. */
export type PushedBatch = Pick<EvaluatedBatch, 'outcomes' | 'notEchoed' | 'changedLater'>;

/** What a request with no changes answers: no outcome, nothing excluded, nothing to announce. */
export const NOTHING_PUSHED: PushedBatch = { outcomes: [], notEchoed: new Map() };

/** A notice NOTIFY can carry (8000 bytes): without `d` when the group's device ids would not fit (everyone is poked). */
export function commitNotice(familyId: string, positionUs: number, deviceIds: string[]): CommitNotice {
  const devices = [...new Set(deviceIds)];
  const notice: CommitNotice = { f: familyId, p: microsToIso(positionUs), d: devices.length === 1 ? devices[0] : devices };
  return Buffer.byteLength(JSON.stringify(notice)) <= 7000 ? notice : { f: familyId, p: notice.p };
}

/** At most this many devices' paging hints are kept (see SyncPullService.notePaging). */
const PAGING_HINTS = 10_000;

const deviceKey = (req: SyncRequestContext) => `${req.scope.familyId}/${req.deviceId}`;

/** How one request is pulled: after which position, whether as a full state, with patches. */
interface PullPlan {
  since: number | null;
  resync: boolean;
  patches: boolean;
}

/** Whether a request's plan depends on the device's page cursor: behind the horizon, or patches asked for (see planOf). */
const needsCursor = (req: SyncRequestContext, clock: FamilyClock) =>
  (req.since !== null && req.since < clock.horizonUs) || (req.patches && req.since !== null);

/**
 * A request's pull plan from the family's clock (`positionBeforeUs`: its position before the
 * group's writes) and the device's page cursor (undefined: none, or not needed: see
 * `needsCursor`).
 */
function planOf(req: SyncRequestContext, clock: FamilyClock, positionBeforeUs: number, cursor: DeviceCursor | undefined): PullPlan {
  // Behind the horizon: tombstones the device may never have seen are gone, so it gets the
  // full state. The pages of a full state can end below the horizon; the device's own
  // page cursor (kept per device) tells such a continuation from a stale client. It also
  // tells whether the device holds every entity as of its watermark, which patches need
  // (PROTOCOL 2.10): while it pages (the cursor is the watermark of its last cut page), an
  // entity that existed at the watermark may have changed again since and not reached it.
  const behind = req.since !== null && req.since < clock.horizonUs;
  // The watermark and the lane cursors of the answer it got: a device resending an older
  // request after a lost answer can send the same watermark (lanes tell them apart).
  const continuing = cursor !== undefined && cursor.us === req.since && cursor.lanes === laneKey(req.lanes, req.since);
  // A page answer may have been lost: any watermark up to the cursor is still paging.
  const paging = cursor !== undefined && req.since !== null && req.since <= cursor.us;
  // Ahead of the family's newest position: this database never issued that watermark (a
  // restore from backup, another server's value), so "after it" would be an empty page
  // forever. Every watermark issued is at most the position it was read under (PROTOCOL 2.13).
  const ahead = req.since !== null && (req.since > positionBeforeUs || LANES.some((l) => (req.lanes?.[l] ?? 0) > positionBeforeUs));
  const resync = ahead || (behind && !continuing);
  const since = resync ? null : req.since;
  return { since, resync, patches: req.patches && since !== null && !paging };
}

/** The responses to pulls from their pages. */
function responsesOf(pulls: { batch: PushedBatch }[], plans: PullPlan[], pages: PulledJsonPage[], clock: FamilyClock): PullResult[] {
  return zip(zip(pulls, plans), pages).map(([[{ batch }, { resync }], page]) => {
    const { hasMore } = page;
    const stand = page.lanes && laneStand(page.lanes, clock.lastUs);
    const watermark = stand?.watermarkUs ?? (hasMore ? page.lastUs! : clock.lastUs);
    const response = assembleResponse({ serverChanges: page.serverChanges, lastSyncAtUs: watermark, hasMore, resync }, batch.outcomes);
    if (stand) response.lanes = stand.cursors;
    return {
      response,
      // The watermark of every cut page (see `paging` in planOf and the horizon's continuation).
      cursor: hasMore ? { cursorUs: watermark, lanes: laneKey(stand?.cursorsUs, watermark), horizonUs: clock.horizonUs } : undefined,
      behind: stand?.behind,
    };
  });
}

/** The pull that ends every sync request, and the response built from it. */
@Injectable()
export class SyncPullService {
  private readonly maxPageBytes: number;
  /** Device (family/device id) -> the cursor of the cut page this instance answered it last. */
  private readonly paging = new Map<string, number>();

  constructor(
    private readonly repo: SyncPullRepository,
    private readonly registry: SyncRegistry,
    config: ConfigService<AppConfig, true>,
  ) {
    this.maxPageBytes = config.get('sync', { infer: true }).maxPageBytes;
  }

  /**
   * The pages the devices of a group of requests have missed, read as the transaction's last
   * statements and sent with its COMMIT (the family lock ends with it). `clock.lastUs` is the
   * family's position after every request of the group. A commit that moved the position
   * (past `positionBeforeUs`) is announced to every instance (PROTOCOL 2.7), except to the
   * group's devices: each of their responses carries everything up to that position.
   */
  async respondAndCommit(
    tx: WireTransaction,
    pulls: {
      req: SyncRequestContext;
      batch: PushedBatch;
      /** The device's page cursor when already read (null: none). */
      cursor?: DeviceCursor | null;
    }[],
    clock: FamilyClock,
    positionBeforeUs: number,
  ): Promise<PullResult[]> {
    const familyId = pulls[0]?.req.scope.familyId;
    if (familyId === undefined) return [];
    const plans: PullPlan[] = [];
    for (const { req, cursor: known } of pulls) {
      const cursor = !needsCursor(req, clock)
        ? undefined
        : known !== undefined
          ? (known ?? undefined)
          : await this.repo.resyncCursor(tx, familyId, req.deviceId);
      plans.push(planOf(req, clock, positionBeforeUs, cursor));
    }
    const pages = await this.repo.pullAllAndCommit(
      tx,
      familyId,
      this.queriesOf(pulls, plans),
      clock.lastUs > positionBeforeUs
        ? commitNotice(
            familyId,
            clock.lastUs,
            pulls.map(({ req }) => req.deviceId),
          )
        : undefined,
    );
    return responsesOf(pulls, plans, pages, clock);
  }

  /**
   * A request without changes in one round trip: BEGIN, the family's clock (`clock.sql`, in
   * the same snapshot) and the page with COMMIT in one message. The page is read with the
   * plan of a device in step (its watermark is neither behind the horizon nor ahead of the
   * family, and it is not paging: patches on, when asked for); the clock then says whether
   * that was its plan. When it was not (a resync, a continuation below the horizon, a device
   * paging with patches on), the answer is `replan` and nothing is used: the caller pulls
   * again the usual way. A device this instance knows to be paging (see `paging`) goes that
   * way at once. Undefined: the caller is not a member (the page read is dropped, never answered).
   */
  async pullWithClock<C extends FamilyClock & { deviceCursor: DeviceCursor | null }>(
    tx: WireTransaction,
    req: SyncRequestContext,
    clock: { sql: string; read(row: Record<string, unknown> | undefined): C | undefined },
  ): Promise<PullResult | undefined | 'replan'> {
    // A watermark past the safe integers (a far-future date) is ahead of any family: a resync.
    const marks = [req.since, ...LANES.map((l) => req.lanes?.[l] ?? null)];
    if (marks.some((us) => us !== null && !Number.isSafeInteger(us))) return 'replan';
    const pagingUs = this.paging.get(deviceKey(req));
    if (req.patches && req.since !== null && pagingUs !== undefined && req.since <= pagingUs) return 'replan';
    const assumed: PullPlan = { since: req.since, resync: false, patches: req.patches && req.since !== null };
    const pulls = [{ req, batch: NOTHING_PUSHED }];
    const { first, pages } = await this.repo.firstPullAllAndCommit(tx, req.scope.familyId, clock.sql, this.queriesOf(pulls, [assumed]));
    const read = clock.read(first[0]);
    if (!read) return undefined;
    const actual = planOf(req, read, read.lastUs, needsCursor(req, read) ? (read.deviceCursor ?? undefined) : undefined);
    if (actual.since !== assumed.since || actual.resync || actual.patches !== assumed.patches) return 'replan';
    return responsesOf(pulls, [assumed], pages, read)[0];
  }

  private queriesOf(pulls: { req: SyncRequestContext; batch: PushedBatch }[], plans: PullPlan[]): PullQuery[] {
    return zip(pulls, plans).map(([{ req, batch }, plan]) => ({
      sinceUs: plan.since,
      limit: req.limit,
      // A full state goes lane by lane from the start (PROTOCOL 2.9).
      lanes: req.lanes && (plan.resync ? { 0: null, 1: null, 2: null } : req.lanes),
      patches: plan.patches,
      maxBytes: this.maxPageBytes,
      tables: this.registry.all().map(({ type, resolver, lane }) => ({
        entityType: type,
        table: resolver.table,
        lane,
        excludeIds: batch.notEchoed.get(type) ?? [],
        alsoDeleted: batch.changedLater?.get(type),
      })),
    }));
  }

  /**
   * Devices this instance answered a cut page last (their page cursor): their next pull is
   * likely a continuation, whose plan with patches on needs the cursor first. A hint only
   * (another instance may have answered since): `pullWithClock` checks against the clock.
   * Bounded: the oldest entry goes first.
   */
  private notePaging(req: SyncRequestContext, cursorUs: number | undefined): void {
    const key = deviceKey(req);
    this.paging.delete(key);
    if (cursorUs === undefined) return;
    this.paging.set(key, cursorUs);
    if (this.paging.size > PAGING_HINTS) this.paging.delete(this.paging.keys().next().value!);
  }

  /** After the commit, on the pool: the device's resync cursor, and the answer's `backlog` (PROTOCOL 2.9). */
  async settle(req: SyncRequestContext, pulled: PullResult): Promise<void> {
    this.notePaging(req, pulled.cursor?.cursorUs);
    const [, backlog] = await Promise.all([
      pulled.cursor && this.repo.setResyncCursor(req.scope.familyId, req.deviceId, pulled.cursor),
      pulled.behind && this.countBacklog(req.scope.familyId, pulled.behind),
    ]);
    if (backlog) pulled.response.backlog = backlog;
  }

  private async countBacklog(familyId: string, behind: Partial<Record<Lane, number>>): Promise<DeltaResponseDto['backlog']> {
    const entities = this.registry.all();
    const counts = await this.repo.countBacklog(
      familyId,
      LANES.flatMap((lane) => {
        const afterUs = behind[lane];
        const tables = entities.filter((e) => e.lane === lane).map((e) => e.resolver.table);
        return afterUs === undefined ? [] : [{ lane, tables, afterUs }];
      }),
    );
    return { 0: counts.get(0) ?? 0, 1: counts.get(1) ?? 0, 2: counts.get(2) ?? 0 };
  }
}
