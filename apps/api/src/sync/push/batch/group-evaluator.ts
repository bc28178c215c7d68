import { evaluateBatch } from './batch-evaluator';
import { BatchLoad, entityKey, EvaluatedBatch, FamilyClock, Receipt, StoredOutcome, StoredRow } from './batch.types';
import { batchLoad, SyncRequestContext } from './prepare-request';

/**
 * Group commit (one family, one instance): the pushes waiting for the family's lock run as
 * one transaction. They are decided here in arrival order, each against the state the ones
 * before it left (rows, and receipts: a retry behind its original replays it), exactly as if
 * they had run one after another; their writes then go to the database in one statement.
 */

/** Receipts of a group are keyed by device and change key. */
export const receiptKey = (deviceId: string, key: string) => `${deviceId}\u0000${key}`;

/** What the group loads under the lock: each request's (device, change key) pairs and every touched row. */
export interface GroupLoad {
  /** Parallel arrays: receipt i is (`deviceIds[i]`, `keys[i]`), each pair once. */
  deviceIds: string[];
  keys: string[];
  entities: BatchLoad['entities'];
}

/** What was loaded: receipts by `receiptKey`, rows by `entityKey`. */
export interface GroupLoaded {
  receipts: Map<string, StoredOutcome>;
  rows: Map<string, StoredRow>;
}

export interface GroupReceipt extends Receipt {
  deviceId: string;
}

/** Everything the group stores, in one statement. */
export interface GroupWrites {
  /** Per table, the last state of each row the group changed (one row per id). */
  rowsByTable: Map<string, StoredRow[]>;
  /** The family's position after the group's rows; null when none was written. */
  lastUs: number | null;
  receipts: GroupReceipt[];
  /** Each device's visits (one per request) and the user of its last request. */
  devices: { deviceId: string; userId: string; visits: number }[];
}

export interface EvaluatedGroup {
  /** One per request, in order; `notEchoed` already leaves out what a later request changed. */
  batches: EvaluatedBatch[];
  writes: GroupWrites;
  /** The family's position after every request's rows. */
  positionUs: number;
}

/** The union of what each request would load. */
export function groupLoad(reqs: SyncRequestContext[]): GroupLoad {
  const entities = new Map<string, { type: string; table: string; ids: Set<string> }>();
  const pairs = new Set<string>();
  const deviceIds: string[] = [];
  const keys: string[] = [];
  for (const req of reqs) {
    const load = batchLoad(req);
    for (const key of load.keys) {
      const pair = receiptKey(req.deviceId, key);
      if (pairs.has(pair)) continue;
      pairs.add(pair);
      deviceIds.push(req.deviceId);
      keys.push(key);
    }
    for (const { type, table, ids } of load.entities) {
      const entry = entities.get(type) ?? { type, table, ids: new Set<string>() };
      entities.set(type, entry);
      for (const id of ids) entry.ids.add(id);
    }
  }
  return {
    deviceIds,
    keys,
    entities: [...entities.values()].map(({ type, table, ids }) => ({ type, table, ids: [...ids] })),
  };
}

/**
 * Decides every request of the group in order. `typeOf(table)` names the entity type a
 * table holds (rows are written per table, looked up per type).
 */
export function evaluateGroup(
  reqs: SyncRequestContext[],
  loaded: GroupLoaded,
  clock: FamilyClock,
  typeOf: (table: string) => string,
): EvaluatedGroup {
  const rows = new Map(loaded.rows);
  const receipts = new Map(loaded.receipts);
  const written = new Map<string, Map<string, StoredRow>>();
  /** entityKey -> index of the last request that wrote the row. */
  const lastWriter = new Map<string, number>();
  const groupReceipts: GroupReceipt[] = [];
  const devices = new Map<string, { deviceId: string; userId: string; visits: number }>();
  const batches: EvaluatedBatch[] = [];
  let positionUs = clock.lastUs;

  reqs.forEach((req, i) => {
    const own = new Map<string, StoredOutcome>();
    for (const { key } of req.changes) {
      const outcome = receipts.get(receiptKey(req.deviceId, key));
      if (outcome) own.set(key, outcome);
    }
    const batch = evaluateBatch(req, { receipts: own, rows }, { ...clock, lastUs: positionUs });
    batches.push(batch);
    const device = devices.get(req.deviceId) ?? { deviceId: req.deviceId, userId: req.scope.userId, visits: 0 };
    devices.set(req.deviceId, { ...device, userId: req.scope.userId, visits: device.visits + 1 });
    if (batch.discarded) return;
    for (const [table, tableRows] of batch.writes.rowsByTable) {
      const byId = written.get(table) ?? new Map<string, StoredRow>();
      written.set(table, byId);
      const type = typeOf(table);
      for (const row of tableRows) {
        byId.set(row.id, row);
        rows.set(entityKey(type, row.id), row);
        lastWriter.set(entityKey(type, row.id), i);
      }
    }
    for (const receipt of batch.writes.receipts) {
      receipts.set(receiptKey(req.deviceId, receipt.key), receipt.outcome);
      groupReceipts.push({ ...receipt, deviceId: req.deviceId });
    }
    positionUs = batch.positionUs;
  });

  return {
    batches: batches.map((batch, i) => ({
      ...batch,
      notEchoed: notChangedLater(batch.notEchoed, lastWriter, i),
      changedLater: touchedAndChangedLater(reqs[i], lastWriter, i),
    })),
    writes: {
      rowsByTable: new Map([...written].map(([table, byId]) => [table, [...byId.values()]])),
      lastUs: positionUs > clock.lastUs ? positionUs : null,
      receipts: groupReceipts,
      devices: [...devices.values()],
    },
    positionUs,
  };
}

/** A request's pull is read after the whole group: it must echo what a later request changed. */
function notChangedLater(notEchoed: Map<string, string[]>, lastWriter: Map<string, number>, index: number): Map<string, string[]> {
  const kept = new Map<string, string[]>();
  for (const [type, ids] of notEchoed) {
    const own = ids.filter((id) => (lastWriter.get(entityKey(type, id)) ?? index) <= index);
    if (own.length > 0) kept.set(type, own);
  }
  return kept;
}

/** What the request touched (any outcome) that a later request of the group wrote. */
function touchedAndChangedLater(req: SyncRequestContext, lastWriter: Map<string, number>, index: number): Map<string, string[]> {
  const later = new Map<string, Set<string>>();
  for (const { change, resolver } of req.changes) {
    if (!resolver || (lastWriter.get(entityKey(change.entity_type, change.entity_id)) ?? index) <= index) continue;
    const ids = later.get(change.entity_type) ?? new Set<string>();
    later.set(change.entity_type, ids.add(change.entity_id));
  }
  return new Map([...later].map(([type, ids]) => [type, [...ids]]));
}
