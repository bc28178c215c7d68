import type { PullResult, PushedBatch } from '../pull/sync-pull.service';
import type { EvaluatedBatch, FamilyClock, Loaded, LoadPlan } from './batch/batch.types';
import type { GroupWrites } from './batch/group-evaluator';
import type { SyncRequestContext } from './batch/prepare-request';

/**
 * One push as the orchestrator (DeltaService) sees the database: the steps in the sync
 * module's own words, on one transaction. Only the implementation knows how the statements
 * travel (BEGIN with the lock, prepared names, the pull built by PostgreSQL and sent with
 * COMMIT, NOTIFY after it).
 */
export interface PushUnit {
  /** Takes the family's sync lock if one of the users is a member (undefined: none is). */
  lock(familyId: string, userIds: string[]): Promise<FamilyClock | undefined>;
  /** The plan's receipts and rows (locked), and which of the users are members. */
  load(familyId: string, plan: LoadPlan, userIds: string[]): Promise<Loaded & { members: Set<string> }>;
  /** Everything the group stores: rows, the family's position, device visits, receipts. */
  write(familyId: string, writes: GroupWrites): Promise<void>;
  /** The server computations of one request (hooks); the family's position after them. */
  compute(req: SyncRequestContext, clock: FamilyClock, batch: EvaluatedBatch): Promise<number>;
  /**
   * Each request's page, read last; the transaction commits with it and the commit is
   * announced to every instance when the position moved past `positionBeforeUs`.
   */
  pullAndCommit(
    pulls: { req: SyncRequestContext; batch: PushedBatch }[],
    clock: FamilyClock,
    positionBeforeUs: number,
  ): Promise<PullResult[]>;
}

/** How pushes and pulls reach the database (the port; PgPushUnits implements it). */
export abstract class PushUnits {
  /** `work` as one transaction, rolled back if it throws; run again on a serialization failure. */
  abstract push<T>(work: (unit: PushUnit) => Promise<T>): Promise<T>;
  /** A pull without changes, from one snapshot and without the lock; undefined: not a member. */
  abstract pull(req: SyncRequestContext): Promise<PullResult | undefined>;
  /** An error of the database or the connection, which every request of a group would meet alike. */
  abstract isDatabaseFault(error: unknown): boolean;
  /** After the commit: where a device's paging through a full state stands, and the answer's lane backlog. */
  abstract settle(req: SyncRequestContext, pulled: PullResult): Promise<void>;
  /** The device's visit (a pull writes nothing in its snapshot). */
  /** The device's visit, with the cursor it sent (PROTOCOL 2.11 explain). */
  abstract touchDevice(req: SyncRequestContext): Promise<void>;
}
