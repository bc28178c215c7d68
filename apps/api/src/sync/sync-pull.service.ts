import { Injectable } from '@nestjs/common';
import type { Transaction } from '@app/database';
import { microsToIso } from '@app/sync-contract';
import type { EvaluatedBatch, FamilyClock } from './batch/batch.types';
import type { SyncRequestContext } from './batch/prepare-request';
import type { DeltaResponseDto } from './dto/delta-response.dto';
import { assembleResponse } from './delta-response.assembler';
import { SyncPullRepository } from './sync-pull.repository';
import { SyncRegistry } from './sync-registry.service';

export interface PullResult {
  response: DeltaResponseDto;
  /** Set when a full state's page ended below the horizon: saved for the device after the commit. */
  cursor?: { cursorUs: number; horizonUs: number };
}

/** What the pull needs of the push: outcomes, what not to echo, and the family's position before it (to announce a move). */
export type PushedBatch = Pick<EvaluatedBatch, 'outcomes' | 'notEchoed'> & { positionBeforeUs?: number };

/** What a request with no changes answers: no outcome, nothing excluded, nothing to announce. */
export const NOTHING_PUSHED: PushedBatch = { outcomes: [], notEchoed: new Map() };

/** The pull that ends every sync request, and the response built from it. */
@Injectable()
export class SyncPullService {
  constructor(
    private readonly repo: SyncPullRepository,
    private readonly registry: SyncRegistry,
  ) {}

  /**
   * The page the device has missed, read as the transaction's last statement and sent with
   * its COMMIT (the family lock ends with it). `clock.lastUs` is the family's position
   * after this request's writes.
   */
  async respondAndCommit(tx: Transaction, req: SyncRequestContext, clock: FamilyClock, batch: PushedBatch): Promise<PullResult> {
    const { familyId } = req.scope;
    // Behind the horizon: tombstones the device may never have seen are gone, so it gets the
    // full state. The pages of a full state can end below the horizon; the device's own
    // page cursor (kept per device) tells such a continuation from a stale client.
    const behind = req.since !== null && req.since < clock.horizonUs;
    const continuing = behind && (await this.repo.resyncCursor(tx, familyId, req.deviceId)) === req.since;
    const resync = behind && !continuing;
    const since = resync ? null : req.since;
    // A commit that moved the family's position is announced to every instance (SPEC 2.7).
    const moved = batch.positionBeforeUs !== undefined && clock.lastUs > batch.positionBeforeUs;
    const rows = await this.repo.pullAndCommit(tx, {
      familyId,
      notice: moved ? { f: familyId, p: microsToIso(clock.lastUs), d: req.deviceId } : undefined,
      sinceUs: since,
      limit: req.limit,
      tables: this.registry
        .all()
        .map(({ type, resolver }) => ({ entityType: type, table: resolver.table, excludeIds: batch.notEchoed.get(type) ?? [] })),
    });
    const hasMore = rows.length > req.limit;
    const page = hasMore ? rows.slice(0, req.limit) : rows;
    const watermark = hasMore ? page[page.length - 1].changedUs : clock.lastUs;
    return {
      response: assembleResponse({ rows: page, since, lastSyncAtUs: watermark, hasMore, resync }, batch.outcomes),
      cursor: hasMore && watermark < clock.horizonUs ? { cursorUs: watermark, horizonUs: clock.horizonUs } : undefined,
    };
  }

  /** After the commit, on the pool. */
  async saveCursor(req: SyncRequestContext, pulled: PullResult): Promise<void> {
    if (pulled.cursor) await this.repo.setResyncCursor(req.scope.familyId, req.deviceId, pulled.cursor);
  }
}
