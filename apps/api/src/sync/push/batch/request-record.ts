import type { SyncChangeInput } from '../../dto/delta-request';
import type { EvaluatedBatch, StoredOutcome, StoredRow } from './batch.types';

/**
 * A row as a record keeps it: what the conflict rules read (version, data, field times,
 * deleted). Its positions and client time only place the write, which a replay does not make.
 */
export type RecordedRow = Pick<StoredRow, 'version' | 'data' | 'fieldClocks' | 'deleted'>;

/** The row the evaluator takes, from a recorded one (positions 0: they decide no outcome). */
export const rowOfRecord = (id: string, r: RecordedRow): StoredRow => ({
  ...r,
  id,
  clientUs: 0,
  createdUs: 0,
  changedUs: 0,
  deletedUs: r.deleted ? 0 : null,
});
import type { RuleName } from './decision-rule';

/**
 * A change as recorded: as sent, except `data` the input guard refused (a NUL, an unpaired
 * surrogate, too deep, `__proto__`: PROTOCOL 2.6, 2.13), which is neither stored nor
 * re-evaluated: `refused` keeps its error message instead.
 */
export type RecordedChange = SyncChangeInput & { refused?: string };

/** One change's outcome as a request record keeps it (PROTOCOL 2.11). */
export interface RecordedOutcome {
  /** `rolled_back`: an `atomic` batch failed, and this change was not the reason. */
  outcome: 'applied' | 'merged' | 'conflict' | 'error' | 'rolled_back';
  rule: RuleName;
  resolution?: string;
  /** The conflict reason, or the error's message. */
  reason?: string;
  /** The error's code. */
  code?: string;
  /** The entity's version after the change. */
  version?: number;
}

/** What a request met: the rows it touched (the state the rules read) and the receipts of its changes. */
export interface RequestBefore {
  rows: { type: string; id: string; row: RecordedRow }[];
  /** By change key (the device's scope is the record's). */
  receipts: { key: string; outcome: StoredOutcome }[];
  /** PROTOCOL 2.12: the family's `keep_device` fields in force, per entity type it touched. */
  policies?: Record<string, string[]>;
}

/** One push, as recorded in its own transaction (PROTOCOL 2.11). */
export interface RequestRecord {
  id: string;
  deviceId: string;
  userId: string;
  positionBeforeUs: number;
  positionUs: number;
  serverUs: number;
  atomic: boolean;
  discarded: boolean;
  maxSkewUs: number;
  changes: RecordedChange[];
  before: RequestBefore;
  outcomes: RecordedOutcome[];
  applied: number;
  conflicts: number;
  errors: number;
}

/** Pure: each change's outcome with the rule that decided it, in array order. */
export function recordedOutcomes(batch: Pick<EvaluatedBatch, 'outcomes' | 'rules' | 'discarded'>): RecordedOutcome[] {
  return batch.outcomes.map((o, i): RecordedOutcome => {
    const rule = batch.rules[i] ?? 'version_match';
    if (o.error) return { outcome: 'error', rule, code: o.error.code, reason: o.error.message };
    if (o.conflict?.resolution === 'merged')
      return { outcome: 'merged', rule, resolution: 'merged', reason: o.conflict.conflict_reason, version: o.applied?.version };
    if (o.conflict) return { outcome: 'conflict', rule, resolution: o.conflict.resolution, reason: o.conflict.conflict_reason };
    if (o.applied) return { outcome: 'applied', rule, version: o.applied.version };
    return { outcome: 'rolled_back', rule };
  });
}

/** The record of one push; undefined when every change was a retry (a retry is not a new request). */
export function requestRecord(
  id: string,
  req: { deviceId: string; userId: string; atomic: boolean; maxSkewUs: number; changes: RecordedChange[] },
  batch: Pick<EvaluatedBatch, 'outcomes' | 'rules' | 'discarded' | 'positionUs'>,
  before: RequestBefore,
  clock: { positionBeforeUs: number; nowUs: number },
): RequestRecord | undefined {
  if (batch.rules.length > 0 && batch.rules.every((r) => r === 'retry')) return undefined;
  const outcomes = recordedOutcomes(batch);
  return {
    id,
    deviceId: req.deviceId,
    userId: req.userId,
    positionBeforeUs: clock.positionBeforeUs,
    positionUs: batch.positionUs,
    serverUs: clock.nowUs,
    atomic: req.atomic,
    discarded: batch.discarded,
    maxSkewUs: req.maxSkewUs,
    changes: req.changes,
    before,
    outcomes,
    applied: outcomes.filter((o) => o.outcome === 'applied' || o.outcome === 'merged').length,
    conflicts: outcomes.filter((o) => o.outcome === 'conflict' || o.outcome === 'merged').length,
    errors: outcomes.filter((o) => o.outcome === 'error').length,
  };
}
