import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import { EntityData, EntityState } from './sync-change';

export const SYNC_BATCH_HOOK = 'sync:batchHook';

/** One change of an entity's state made by a client change of the batch. */
export interface StateTransition {
  entityType: string;
  entityId: string;
  /** Undefined: the entity did not exist before this change. */
  before?: EntityState;
  after: EntityState;
  /** The change's clamped client time (µs). */
  clientUs: number;
}

/**
 * The request's transaction as a hook's repository sees it: parametrised statements, nothing
 * about how they travel or how the transaction begins and ends (the sync module owns that).
 */
export interface HookSql {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/**
 * What a hook gets inside the request's transaction, after the batch's client changes are
 * resolved and written, before receipts and the pull.
 */
export interface SyncBatchContext {
  familyId: string;
  /** The user who sent the request. */
  userId: string;
  /** Server time of the request (µs) and the clamp of client times (rule 5). */
  nowUs: number;
  clampUs(clientUs: number): number;
  /** Every state change the batch made, in array order. */
  transitions: readonly StateTransition[];
  /**
   * The hook's own repository, bound to the request's transaction: its SQL stays in that
   * repository, and the hook never holds the transaction itself.
   */
  repository<R>(type: new (sql: HookSql) => R): R;
  /** Current states of some entities of one type (one query). */
  load(entityType: string, ids: string[]): Promise<Map<string, EntityState>>;
  /**
   * Writes server-computed states through the sync write path: version + 1, field times =
   * server time, the next commit positions; unchanged states are not written.
   */
  write(entityType: string, states: { id: string; data: EntityData }[]): Promise<void>;
}

/** A provider that reacts to a batch inside its transaction (e.g. server computations). */
export interface SyncBatchHook {
  afterBatch(context: SyncBatchContext): Promise<void>;
}

/** Marks a provider as a SyncBatchHook, discovered by the sync registry. */
export const SyncHook = () => applyDecorators(Injectable(), SetMetadata(SYNC_BATCH_HOOK, true));
