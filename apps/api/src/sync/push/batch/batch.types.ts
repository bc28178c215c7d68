import type { RuleName } from './decision-rule';
import type { ConflictResolver, EntityState, FieldPositions, StateTransition, ValidationResult } from '@app/sync-contract';
import type { SyncChangeInput } from '../../dto/delta-request';
import type { AppliedDto, ChangeErrorDto, ConflictDto } from '../../dto/delta-response.dto';

/** A row of a synced entity table, with its positions as numbers of microseconds. */
export interface StoredRow extends EntityState {
  id: string;
  clientUs: number;
  createdUs: number;
  changedUs: number;
  deletedUs: number | null;
  /**
   * PROTOCOL 2.10: as loaded (null: unknown); on a written row, as `positionsAfter` computed
   * them for the write (undefined or unchanged: the trigger computes them).
   */
  fieldPositions?: FieldPositions | null;
}

export interface FamilyClock {
  /** Commit position of the family's latest change (0: none yet). */
  lastUs: number;
  /** Tombstones up to this position were purged: an older watermark needs a full resync. */
  horizonUs: number;
  /** The database clock when the lock was granted. */
  nowUs: number;
}

/** A change as far as it can be known before the family lock. */
export interface PreparedChange {
  change: SyncChangeInput;
  index: number;
  /** The retry key (change_id or digest). */
  key: string;
  /** client_timestamp in µs, not yet clamped (the clamp uses the clock read under the lock). */
  clientUs: number;
  resolver?: ConflictResolver;
  /** The validated data of a create or update (undefined for a delete or an unknown type). */
  valid?: ValidationResult;
  /** The input guard refused its `data` (PROTOCOL 2.6, 2.13): a record keeps the change without it. */
  refused?: boolean;
}

/** The outcome of one change, as kept in its receipt and replayed to a retry. */
export interface StoredOutcome {
  applied?: AppliedDto;
  conflict?: ConflictDto;
  error?: Omit<ChangeErrorDto, 'index'>;
}

/** What a push loads under the lock: its (device, change key) receipts and every row it touches. */
export interface LoadPlan {
  /** Parallel arrays: receipt i is (`deviceIds[i]`, `keys[i]`), each pair once. */
  deviceIds: string[];
  keys: string[];
  entities: { type: string; table: string; ids: string[] }[];
}

/** What was loaded: receipts by `receiptKey(device, change key)`, rows by `entityKey(type, id)`. */
export interface Loaded {
  receipts: Map<string, StoredOutcome>;
  rows: Map<string, StoredRow>;
  /** PROTOCOL 2.12: per entity type, the fields the family keeps the device's value for (`keep_device`). */
  policies?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** A dismissal's decision about one rejected field of an inbox entry (PROTOCOL 2.12). */
export interface FieldDecision {
  entityType: string;
  field: string;
  restored: boolean;
}

/** A change's outcome as stored for retries (by device and key) and for the device's history. */
export interface Receipt {
  deviceId: string;
  key: string;
  outcome: StoredOutcome;
  entityType: string;
  entityId: string;
  action: string;
  index: number;
}

/** Everything the batch stores, in one statement. */
export interface BatchWrites {
  rowsByTable: Map<string, StoredRow[]>;
  /** The family's new position, null when no row was written. */
  lastUs: number | null;
  receipts: Receipt[];
}

export interface EvaluatedBatch {
  /** One per change, in array order, as the response reports them. */
  outcomes: StoredOutcome[];
  /** The rule behind each outcome, in array order (PROTOCOL 2.11). */
  rules: RuleName[];
  /** The inbox dismissals' decisions, one per rejected field (PROTOCOL 2.12). */
  decisions?: FieldDecision[];
  /** `atomic` and some change failed: nothing of the batch is stored. */
  discarded: boolean;
  writes: BatchWrites;
  /** Every state change, in array order (what hooks react to). */
  transitions: StateTransition[];
  /** The family's position after the batch's own rows. */
  positionUs: number;
  /** Per entity type, the ids the response need not send back (the device has their state). */
  notEchoed: Map<string, string[]>;
  /**
   * Group commit: per entity type, the ids this request touched that a later request of its
   * group changed. Its pull is read after the group, so a full state (no watermark) must
   * still carry their tombstones: the device knows them, and its watermark is past the delete.
   */
  changedLater?: Map<string, string[]>;
}

/** The map key of an entity (a NUL: no type or id holds one). */
export const entityKey = (type: string, id: string) => `${type}\u0000${id}`;
/** The map key of a receipt: the change key is scoped to the device. */
export const receiptKey = (deviceId: string, key: string) => `${deviceId}\u0000${key}`;
