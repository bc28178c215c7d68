import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource, QueryRunner } from 'typeorm';
import type { AppConfig } from '@app/config';
import {
  clampClientTime,
  ConflictResolver,
  Decision,
  EntityData,
  EntityState,
  NextState,
  sameValue,
  StateTransition,
  SyncChange,
  SyncChangeErrorCode,
  ValidationResult,
} from '@app/sync-contract';
import { FamilyScope } from '../family/family-caller';
import { FamilyErrorCode, FamilyException } from '../family/family.exception';
import { changeKey } from './change-key';
import { refusedData } from './delta-input.policy';
import type { DeltaRequest, SyncChangeInput } from './dto/delta-request';
import { AppliedDto, ChangeErrorDto, ConflictDto, DeltaResponseDto, ServerChangeDto } from './dto/delta-response.dto';
import { SyncErrorCode, SyncException } from './sync.exception';
import { SyncMetrics } from './sync-metrics';
import { SyncRegistry } from './sync-registry.service';
import { FamilyClock, PulledRow, StoredRow, SyncRepository } from './sync.repository';
import { isoToMicros, microsToIso } from './sync-time';
import { PositionAllocator } from './position-allocator';
import { createBatchContext } from './sync-batch-context';

const DEFAULT_LIMIT = 1000;

/** A change as far as it can be known before the family lock. */
interface PreparedChange {
  change: SyncChangeInput;
  key: string;
  /** client_timestamp in µs, not yet clamped (the clamp uses the clock read under the lock). */
  clientUs: number;
  resolver?: ConflictResolver;
  /** The validated data of a create or update (undefined for a delete or an unknown type). */
  valid?: ValidationResult;
}

/** One entity touched by the batch: as loaded, and as the changes so far left it. */
interface Working {
  type: string;
  id: string;
  resolver: ConflictResolver;
  loaded?: StoredRow;
  state?: EntityState;
  clientUs: number;
  dirty: boolean;
  lastIndex: number;
  /** Changed after the client's watermark by someone else: it goes back in server_changes. */
  changedByOthers: boolean;
  /** Some change of this request was merged or lost: it goes back in server_changes. */
  notFullyApplied: boolean;
}

/** The outcome of one change, as kept in its receipt and replayed to a retry. */
interface StoredOutcome {
  applied?: AppliedDto;
  conflict?: ConflictDto;
  error?: Omit<ChangeErrorDto, 'index'>;
}

type Evaluated =
  | { kind: 'decided'; key: string; change: SyncChangeInput; w: Working; decision: Decision; version: number }
  | { kind: 'error'; key: string; change: SyncChangeInput; code: SyncChangeErrorCode; message: string }
  | { kind: 'replay'; key: string; change: SyncChangeInput; outcome: StoredOutcome; fresh: boolean };

interface BatchResult {
  outcomes: StoredOutcome[];
  failed: boolean;
  workings: Map<string, Working>;
  positionUs: number;
}

const workingKey = (type: string, id: string) => `${type}\u0000${id}`;

/**
 * POST /sync/delta: applies a batch of client changes in one transaction and answers with
 * everything the device has missed. Owns the QueryRunner for the whole request: begin,
 * family lock, bulk load, resolve in memory in array order, bulk write, receipts, pull,
 * commit; on any error rollback and rethrow; always release.
 */
@Injectable()
export class DeltaService {
  private readonly maxBatch: number;
  private readonly maxSkewUs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: SyncRegistry,
    private readonly repo: SyncRepository,
    private readonly metrics: SyncMetrics,
    @InjectPinoLogger(DeltaService.name) private readonly logger: PinoLogger,
    config: ConfigService<AppConfig, true>,
  ) {
    const sync = config.get('sync', { infer: true });
    this.maxBatch = sync.maxBatch;
    this.maxSkewUs = sync.maxClockSkewMs * 1000;
  }

  async sync(caller: FamilyScope, request: DeltaRequest): Promise<DeltaResponseDto> {
    const started = process.hrtime.bigint();
    const changes = request.changes ?? [];
    const prepared = this.prepare(changes, request.device_id);
    const since = this.parseWatermark(request.last_sync_at);
    const limit = request.limit ?? DEFAULT_LIMIT;

    const response =
      changes.length === 0
        ? await this.pullOnly(caller, request.device_id, since, limit)
        : await this.push(caller, request, prepared, since, limit);

    this.observe(caller, request, changes, response, started);
    return response;
  }

  /**
   * Everything about the changes that needs no lock, done before taking it: the envelope
   * rules that need the registry or a parse (400, nothing applied), the retry key and the
   * validation of each change's data (its per-change error, if any, is reported later).
   */
  private prepare(changes: SyncChangeInput[], deviceId: string): PreparedChange[] {
    if (changes.length > this.maxBatch) {
      throw new SyncException(SyncErrorCode.BatchTooLarge, `changes: at most ${this.maxBatch} changes per request (got ${changes.length})`, {
        max: this.maxBatch,
      });
    }
    return changes.map((change, i) => {
      const resolver = this.registry.find(change.entity_type);
      if (resolver?.versioned && change.action !== 'create' && change.version === undefined) {
        throw new SyncException(
          SyncErrorCode.VersionRequired,
          `changes.${i}.version is required for ${change.entity_type} ${change.action} (optimistic locking)`,
        );
      }
      const us = isoToMicros(change.client_timestamp);
      if (us === undefined) {
        throw new SyncException(SyncErrorCode.BadClientTimestamp, `changes.${i}.client_timestamp is not a valid date-time`);
      }
      const valid = refusedData(change) ?? (resolver && change.action !== 'delete' ? resolver.validate(change.action, change.data) : undefined);
      return { change, key: changeKey(deviceId, change), clientUs: us, resolver, valid };
    });
  }

  private parseWatermark(value: string | null | undefined): number | null {
    if (value === null || value === undefined) return null;
    const us = isoToMicros(value);
    if (us === undefined) throw new SyncException(SyncErrorCode.BadWatermark, 'last_sync_at is not a valid date-time');
    return us;
  }

  /**
   * No changes: no lock; the watermark and the changes come from one snapshot. The device's
   * last-seen is recorded meanwhile on another pooled connection.
   */
  private async pullOnly(caller: FamilyScope, deviceId: string, since: number | null, limit: number): Promise<DeltaResponseDto> {
    const [pulled] = await Promise.all([
      this.inTransaction(async (qr, tx) => {
        const clock = await this.repo.beginAndReadFamilyClock(qr, caller.familyId, caller.userId);
        if (!clock) throw new FamilyException(FamilyErrorCode.NotMember);
        const empty: BatchResult = { outcomes: [], failed: false, workings: new Map(), positionUs: clock.lastUs };
        return { clock, ...(await this.respondAndCommit(qr, tx, caller.familyId, deviceId, clock, since, limit, empty)) };
      }),
      this.repo.touchDevice(this.dataSource, caller.familyId, deviceId, caller.userId),
    ]);
    if (pulled.cursorUs !== undefined) {
      await this.repo.setResyncCursor(this.dataSource, caller.familyId, deviceId, pulled.cursorUs, pulled.clock.horizonUs);
    }
    return pulled.response;
  }

  private async push(
    caller: FamilyScope,
    request: DeltaRequest,
    prepared: PreparedChange[],
    since: number | null,
    limit: number,
  ): Promise<DeltaResponseDto> {
    const atomic = request.atomic === true;
    const result = await this.inTransaction(async (qr, tx) => {
      // Every change of a family is applied under this lock, held until commit. Commit
      // positions (changed_us) are taken under it too, as max(now, last + 1µs): so positions
      // are strictly increasing in commit order, and a reader that sees the family's
      // last_us in its snapshot sees every row at or below it. `last_sync_at` is that
      // position, an exact high-watermark: the next pull (`changed_us > last_sync_at`) gets
      // every later commit exactly once, whatever order requests started in and whatever
      // the device clocks say. Other families have their own lock row and never wait.
      const clock = await this.repo.beginAndLockFamily(qr, caller.familyId, caller.userId);
      if (!clock) throw new FamilyException(FamilyErrorCode.NotMember);
      const batch = await this.applyBatch(qr, caller, request.device_id, prepared, since, clock, atomic);
      if (atomic && batch.failed) return { rolledBack: true as const, batch };
      const pulled = await this.respondAndCommit(qr, tx, caller.familyId, request.device_id, { ...clock, lastUs: batch.positionUs }, since, limit, batch);
      return { rolledBack: false as const, clock, ...pulled };
    }, (value) => value.rolledBack);

    if (!result.rolledBack) {
      if (result.cursorUs !== undefined) {
        await this.repo.setResyncCursor(this.dataSource, caller.familyId, request.device_id, result.cursorUs, result.clock.horizonUs);
      }
      return result.response;
    }
    // atomic: nothing of the batch is stored; only the offending changes are reported, with
    // the server state as it is (the state before the batch).
    const { workings, outcomes } = result.batch;
    const failures = outcomes.map((o, index) => {
      if (!o.conflict) return { index, error: o.error };
      const loaded = workings.get(workingKey(o.conflict.entity_type, o.conflict.entity_id))?.loaded;
      const conflict = { ...o.conflict, server_version: loaded?.version ?? null, server_data: loaded && !loaded.deleted ? loaded.data : null };
      return { index, error: o.error, conflict };
    });
    const response = await this.pullOnly(caller, request.device_id, since, limit);
    return this.assemble(response, failures);
  }

  /** Runs resolvers in array order over the rows of the batch, then writes what changed. */
  private async applyBatch(
    qr: QueryRunner,
    caller: FamilyScope,
    deviceId: string,
    prepared: PreparedChange[],
    since: number | null,
    clock: FamilyClock,
    atomic: boolean,
  ): Promise<BatchResult> {
    const changes = prepared.map((p) => p.change);
    const keys = prepared.map((p) => p.key);
    const { receipts, workings } = await this.loadBatch(qr, caller.familyId, deviceId, changes, keys, since);

    const evaluated: Evaluated[] = [];
    const transitions: StateTransition[] = [];
    const firstByKey = new Map<string, number>();
    changes.forEach((change, index) => {
      const key = keys[index];
      const stored = receipts.get(key) as StoredOutcome | undefined;
      if (stored) return evaluated.push({ kind: 'replay', key, change, outcome: stored, fresh: false });
      const first = firstByKey.get(key);
      if (first !== undefined) return evaluated.push({ kind: 'replay', key, change, outcome: {}, fresh: true });
      firstByKey.set(key, index);
      evaluated.push(this.evaluate(prepared[index], index, clock, workings, transitions));
    });

    const outcomes = evaluated.map((e) => (e.kind === 'replay' ? e.outcome : this.toOutcome(e)));
    evaluated.forEach((e, i) => {
      if (e.kind === 'replay' && e.fresh) outcomes[i] = outcomes[firstByKey.get(e.key)!];
    });
    // For `atomic`, a merged change is a failure too: part of the client's intent was lost.
    const failed = outcomes.some((o) => o.error || o.conflict);
    // The transaction is rolled back: nothing to write.
    if (atomic && failed) return { outcomes, failed, workings, positionUs: clock.lastUs };

    // Commit positions, in the order of each entity's last change; server computations
    // (hooks) take the positions after them.
    const positions = new PositionAllocator(clock);
    const dirty = [...workings.values()].filter((w) => w.dirty).sort((a, b) => a.lastIndex - b.lastIndex);
    const rowsByTable = new Map<string, StoredRow[]>();
    for (const w of dirty) {
      const changedUs = positions.next();
      const state = w.state!;
      const row: StoredRow = {
        ...state,
        id: w.id,
        clientUs: w.clientUs,
        createdUs: w.loaded?.createdUs ?? changedUs,
        changedUs,
        deletedUs: state.deleted ? (w.loaded?.deletedUs ?? changedUs) : null,
      };
      const rows = rowsByTable.get(w.resolver.table) ?? [];
      rowsByTable.set(w.resolver.table, rows);
      rows.push(row);
    }
    const clientPosition = positions.last();
    await this.repo.writeBatch(qr, {
      familyId: caller.familyId,
      deviceId,
      userId: caller.userId,
      rowsByTable,
      lastUs: clientPosition > clock.lastUs ? clientPosition : null,
      receipts: evaluated.flatMap((e, i) => (e.kind === 'replay' ? [] : [{ key: e.key, outcome: outcomes[i] }])),
    });
    for (const hook of this.registry.hooks()) {
      await hook.afterBatch(
        createBatchContext({ qr, repo: this.repo, registry: this.registry, caller, clock, maxSkewUs: this.maxSkewUs, transitions, positions }),
      );
    }
    const lastPosition = positions.last();
    if (lastPosition > clientPosition) await this.repo.setFamilyPosition(qr, caller.familyId, lastPosition);
    return {
      outcomes,
      failed,
      workings,
      positionUs: lastPosition,
    };
  }

  /** The batch's receipts and every row it touches, in one statement. */
  private async loadBatch(
    qr: QueryRunner,
    familyId: string,
    deviceId: string,
    changes: SyncChangeInput[],
    keys: string[],
    since: number | null,
  ): Promise<{ receipts: Map<string, unknown>; workings: Map<string, Working> }> {
    const idsByType = new Map<string, Set<string>>();
    for (const c of changes) {
      if (this.registry.find(c.entity_type)) idsByType.set(c.entity_type, (idsByType.get(c.entity_type) ?? new Set()).add(c.entity_id));
    }
    const types = [...idsByType.keys()];
    const loaded = await this.repo.loadBatch(
      qr,
      familyId,
      deviceId,
      [...new Set(keys)],
      types.map((type) => ({ table: this.registry.find(type)!.table, ids: [...idsByType.get(type)!] })),
    );
    const workings = new Map<string, Working>();
    types.forEach((type, i) => {
      const resolver = this.registry.find(type)!;
      for (const id of idsByType.get(type)!) {
        const row = loaded.rows[i].get(id);
        workings.set(workingKey(type, id), {
          type,
          id,
          resolver,
          loaded: row,
          state: row && { version: row.version, data: row.data, fieldClocks: row.fieldClocks, deleted: row.deleted },
          clientUs: row?.clientUs ?? 0,
          dirty: false,
          lastIndex: -1,
          changedByOthers: row !== undefined && (since === null || row.changedUs > since),
          notFullyApplied: false,
        });
      }
    });
    return { receipts: loaded.receipts, workings };
  }

  private evaluate(
    { change, key, clientUs: rawClientUs, resolver, valid }: PreparedChange,
    index: number,
    clock: FamilyClock,
    workings: Map<string, Working>,
    transitions: StateTransition[],
  ): Evaluated {
    if (!resolver) {
      return { kind: 'error', key, change, code: SyncChangeErrorCode.UnknownEntityType, message: `unknown entity_type "${change.entity_type}"` };
    }
    let data: EntityData | undefined;
    let patch: EntityData | undefined;
    if (valid) {
      if (!valid.ok) return { kind: 'error', key, change, code: SyncChangeErrorCode.Validation, message: valid.message };
      data = valid.data;
      const sent = new Set(Object.keys(change.data ?? {}));
      patch = Object.fromEntries(Object.entries(data).filter(([field]) => sent.has(field)));
    }
    const w = workings.get(workingKey(change.entity_type, change.entity_id))!;
    const syncChange: SyncChange = {
      index,
      entityType: change.entity_type,
      entityId: change.entity_id,
      action: change.action,
      data,
      patch,
      version: change.version,
      clientUs: clampClientTime(rawClientUs, clock.nowUs, this.maxSkewUs),
    };
    const decision = resolver.resolve(w.state, syncChange, { nowUs: clock.nowUs });
    if (decision.kind === 'error') return { kind: 'error', key, change, code: decision.code, message: decision.message };
    if (decision.kind === 'apply' || decision.kind === 'merge') {
      const next = decision.next;
      const problem = next?.data && resolver.checkState?.(next.data);
      if (problem) return { kind: 'error', key, change, code: SyncChangeErrorCode.Validation, message: problem };
      if (next && !sameState(w.state, next)) {
        const before = w.state;
        w.state = { ...next, version: (w.state?.version ?? 0) + 1 };
        transitions.push({ entityType: w.type, entityId: w.id, before, after: w.state, clientUs: syncChange.clientUs });
        w.dirty = true;
        w.lastIndex = index;
        w.clientUs = syncChange.clientUs;
      }
    }
    if (decision.kind !== 'apply') w.notFullyApplied = true;
    return { kind: 'decided', key, change, w, decision, version: w.state?.version ?? 0 };
  }

  /** The wire entries of one change; states are read after the whole batch (SPEC: "after the request"). */
  private toOutcome(e: Exclude<Evaluated, { kind: 'replay' }>): StoredOutcome {
    const { change } = e;
    if (e.kind === 'error') {
      return { error: { entity_type: change.entity_type, entity_id: change.entity_id, code: e.code, message: e.message } };
    }
    const { w, decision } = e;
    const finalData = w.state && !w.state.deleted ? w.state.data : null;
    const conflict = (resolution: ConflictDto['resolution'], reason: string, rejected: string[] = []): ConflictDto => ({
      entity_type: change.entity_type,
      entity_id: change.entity_id,
      conflict_reason: reason,
      resolution,
      client_version: change.version ?? null,
      server_version: w.state?.version ?? null,
      server_data: finalData,
      rejected_fields: rejected,
    });
    if (decision.kind === 'conflict') return { conflict: conflict(decision.resolution, decision.reason, decision.rejectedFields) };
    const applied: AppliedDto = { entity_type: change.entity_type, entity_id: change.entity_id, version: e.version };
    if (decision.kind === 'merge') {
      return { applied: { ...applied, data: finalData }, conflict: conflict('merged', decision.reason, decision.rejectedFields) };
    }
    const basedOnCurrent = decision.kind === 'apply' && decision.basedOnCurrent && !w.resolver.appliedCarriesState;
    return { applied: basedOnCurrent ? applied : { ...applied, data: finalData } };
  }

  /** The pull, sent with COMMIT: the transaction (and the family lock) ends with it. */
  private async respondAndCommit(
    qr: QueryRunner,
    tx: { committed: boolean },
    familyId: string,
    deviceId: string,
    clock: FamilyClock,
    since: number | null,
    limit: number,
    batch: BatchResult,
  ): Promise<{ response: DeltaResponseDto; cursorUs?: number }> {
    // Behind the horizon: tombstones the device may never have seen are gone, so it gets the
    // full state. The pages of a full state can end below the horizon; the device's own
    // page cursor (kept per device) tells such a continuation from a stale client.
    const behind = since !== null && since < clock.horizonUs;
    const continuing = behind && (await this.repo.resyncCursor(qr, familyId, deviceId)) === since;
    const resync = behind && !continuing;
    const effectiveSince = resync ? null : since;
    const excluded = new Map<string, string[]>();
    for (const w of batch.workings.values()) {
      if (w.changedByOthers || w.notFullyApplied || w.lastIndex < 0) continue;
      excluded.set(w.type, [...(excluded.get(w.type) ?? []), w.id]);
    }
    tx.committed = true;
    const rows = await this.repo.pullAndCommit(qr, {
      familyId,
      sinceUs: effectiveSince,
      limit,
      tables: this.registry.all().map(({ type, resolver }) => ({ entityType: type, table: resolver.table, excludeIds: excluded.get(type) ?? [] })),
    });
    const hasMore = rows.length > limit;
    const page = hasMore ? rows.slice(0, limit) : rows;
    const watermark = hasMore ? page[page.length - 1].changedUs : Math.max(clock.lastUs, batch.positionUs);
    const response = this.assemble(
      {
        server_changes: page.map((row) => toServerChange(row, effectiveSince)),
        conflicts: [],
        errors: [],
        applied: [],
        last_sync_at: microsToIso(watermark),
        has_more: hasMore,
        // Only the first page of a full state asks the device to replace its replica; a
        // continuation (and any page of a first sync) just carries on.
        resync_required: resync,
        success: true,
        applied_count: 0,
        error_count: 0,
      },
      batch.outcomes.map((o, i) => ({ ...o, index: i })),
    );
    return { response, cursorUs: hasMore && watermark < clock.horizonUs ? watermark : undefined };
  }

  private assemble(base: DeltaResponseDto, outcomes: (StoredOutcome & { index: number })[]): DeltaResponseDto {
    const applied = [...base.applied, ...outcomes.flatMap((o) => (o.applied ? [o.applied] : []))];
    const conflicts = outcomes.flatMap((o) => (o.conflict ? [o.conflict] : []));
    const errors: ChangeErrorDto[] = outcomes.flatMap((o) => (o.error ? [{ index: o.index, ...o.error }] : []));
    return {
      ...base,
      applied,
      conflicts,
      errors,
      success: conflicts.length === 0 && errors.length === 0,
      applied_count: applied.length,
      error_count: errors.length,
    };
  }

  /**
   * One transaction on one pooled connection. The work's first statement opens it: BEGIN
   * travels with that statement (`beginAndLockFamily`, `beginAndReadFamilyClock`), one round
   * trip less than TypeORM's startTransaction. Rolled back on any error, and rethrown.
   */
  private async inTransaction<T>(
    work: (qr: QueryRunner, tx: { committed: boolean }) => Promise<T>,
    rollbackWhen: (value: T) => boolean = () => false,
  ): Promise<T> {
    const qr = this.dataSource.createQueryRunner();
    // `committed`: the work's last statement carried COMMIT (respondAndCommit).
    const tx = { committed: false };
    try {
      const value = await work(qr, tx);
      if (!tx.committed) await qr.query(rollbackWhen(value) ? 'ROLLBACK' : 'COMMIT');
      tx.committed = true;
      return value;
    } catch (error) {
      // Also when the first statement or the COMMIT failed: ROLLBACK outside a transaction only warns.
      await qr.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await qr.release();
    }
  }

  /** Metrics and the one log line of a sync (counts only: no token, no entity data). */
  private observe(caller: FamilyScope, request: DeltaRequest, changes: SyncChangeInput[], response: DeltaResponseDto, started: bigint): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.recordSync(changes.length, response, (type) => (this.registry.find(type) ? type : 'unknown'));
    this.logger.info(
      {
        userId: caller.userId,
        familyId: caller.familyId,
        deviceId: request.device_id,
        changes: changes.length,
        applied: response.applied_count,
        conflicts: response.conflicts.length,
        errors: response.error_count,
        serverChanges: response.server_changes.length,
        hasMore: response.has_more,
        atomic: request.atomic === true,
        durationMs: Math.round(seconds * 1e4) / 10,
      },
      'sync',
    );
  }
}

function sameState(current: EntityState | undefined, next: NextState): boolean {
  return current !== undefined && current.deleted === next.deleted && sameValue(current.data, next.data);
}

function toServerChange(row: PulledRow, since: number | null): ServerChangeDto {
  return {
    entity_type: row.entityType,
    entity_id: row.id,
    action: row.deleted ? 'delete' : since === null || row.createdUs > since ? 'create' : 'update',
    data: row.deleted ? null : row.data,
    version: row.version,
    client_timestamp: microsToIso(row.clientUs),
    server_timestamp: microsToIso(row.changedUs),
  };
}
