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
import { DeviceCursor, SyncPullRepository } from './sync-pull.repository';
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

/** The pull that ends every sync request, and the response built from it. */
@Injectable()
export class SyncPullService {
  private readonly maxPageBytes: number;

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
    const plans: { since: number | null; resync: boolean; patches: boolean }[] = [];
    for (const { req, cursor: known } of pulls) {
      // Behind the horizon: tombstones the device may never have seen are gone, so it gets the
      // full state. The pages of a full state can end below the horizon; the device's own
      // page cursor (kept per device) tells such a continuation from a stale client. It also
      // tells whether the device holds every entity as of its watermark, which patches need
      // (PROTOCOL 2.10): while it pages (the cursor is the watermark of its last cut page), an
      // entity that existed at the watermark may have changed again since and not reached it.
      const behind = req.since !== null && req.since < clock.horizonUs;
      const needed = behind || (req.patches && req.since !== null);
      const cursor = !needed
        ? undefined
        : known !== undefined
          ? (known ?? undefined)
          : await this.repo.resyncCursor(tx, familyId, req.deviceId);
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
      plans.push({ since, resync, patches: req.patches && since !== null && !paging });
    }
    const pages = await this.repo.pullAllAndCommit(
      tx,
      familyId,
      zip(pulls, plans).map(([{ req, batch }, plan]) => ({
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
      })),
      clock.lastUs > positionBeforeUs
        ? commitNotice(
            familyId,
            clock.lastUs,
            pulls.map(({ req }) => req.deviceId),
          )
        : undefined,
    );
    return zip(zip(pulls, plans), pages).map(([[{ batch }, { resync }], page]) => {
      const { hasMore } = page;
      const stand = page.lanes && laneStand(page.lanes, clock.lastUs);
      const watermark = stand?.watermarkUs ?? (hasMore ? page.lastUs! : clock.lastUs);
      const response = assembleResponse({ serverChanges: page.serverChanges, lastSyncAtUs: watermark, hasMore, resync }, batch.outcomes);
      if (stand) response.lanes = stand.cursors;
      return {
        response,
        // The watermark of every cut page (see `paging` above and the horizon's continuation).
        cursor: hasMore ? { cursorUs: watermark, lanes: laneKey(stand?.cursorsUs, watermark), horizonUs: clock.horizonUs } : undefined,
        behind: stand?.behind,
      };
    });
  }

  /** After the commit, on the pool: the device's resync cursor, and the answer's `backlog` (PROTOCOL 2.9). */
  async settle(req: SyncRequestContext, pulled: PullResult): Promise<void> {
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
