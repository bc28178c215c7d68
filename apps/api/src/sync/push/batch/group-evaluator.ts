import { zip } from '../../zip';
import { positionsAfter } from '@app/sync-contract';
import { evaluateBatch } from './batch-evaluator';
import { entityKey, EvaluatedBatch, FamilyClock, Loaded, Receipt, receiptKey, StoredOutcome, StoredRow } from './batch.types';
import type { SyncRequestContext } from './prepare-request';
import type { RequestBefore, RequestRecord } from './request-record';

/**
 * Group commit (one family, one instance): the pushes waiting for the family's lock run as
 * one transaction. They are decided here in arrival order, each against the state the ones
 * before it left (rows, and receipts: a retry behind its original replays it), exactly as if
 * they had run one after another; their writes then go to the database in one statement.
 */

/** Everything the group stores, in one statement. */
export interface GroupWrites {
  /** Per table, the last state of each row the group changed (one row per id). */
  rowsByTable: Map<string, StoredRow[]>;
  /** The family's position after the group's rows; null when none was written. */
  lastUs: number | null;
  receipts: Receipt[];
  /** Each device's visits (one per request), and the user and cursors of its last request (PROTOCOL 2.11 explain). */
  devices: DeviceVisit[];
  /** The records of the group's pushes (PROTOCOL 2.11); empty when recording is off. */
  records: RequestRecord[];
  /** The inbox dismissals' decisions, counted per entity type and field (PROTOCOL 2.12). */
  decisions: { entityType: string; field: string; decisions: number; restored: number }[];
}

export interface DeviceVisit {
  deviceId: string;
  userId: string;
  visits: number;
  lastSyncUs: number | null;
  lanes: Record<string, number | null> | null;
}

export interface EvaluatedGroup {
  /** One per request, in order; `notEchoed` already leaves out what a later request changed. */
  batches: EvaluatedBatch[];
  /** One per request: the rows and receipts it met (after the requests before it: PROTOCOL 2.11). */
  befores: RequestBefore[];
  writes: GroupWrites;
  /** The family's position after every request's rows. */
  positionUs: number;
}

/**
 * Decides every request of the group in order. `typeOf(table)` names the entity type a
 * table holds (rows are written per table, looked up per type).
 */
export function evaluateGroup(
  reqs: SyncRequestContext[],
  loaded: Loaded,
  clock: FamilyClock,
  typeOf: (table: string) => string,
): EvaluatedGroup {
  const rows = new Map(loaded.rows);
  const receipts = new Map(loaded.receipts);
  const written = new Map<string, Map<string, StoredRow>>();
  /** entityKey -> index of the last request that wrote the row. */
  const lastWriter = new Map<string, number>();
  const groupReceipts: Receipt[] = [];
  const devices = new Map<string, DeviceVisit>();
  const batches: EvaluatedBatch[] = [];
  const befores: RequestBefore[] = [];
  let positionUs = clock.lastUs;

  reqs.forEach((req, i) => {
    befores.push(beforeOf(req, rows, receipts, loaded.policies));
    const batch = evaluateBatch(req, { receipts, rows, policies: loaded.policies }, { ...clock, lastUs: positionUs });
    batches.push(batch);
    const visits = (devices.get(req.deviceId)?.visits ?? 0) + 1;
    devices.set(req.deviceId, {
      deviceId: req.deviceId,
      userId: req.scope.userId,
      visits,
      lastSyncUs: req.since,
      lanes: req.lanes ?? null,
    });
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
      receipts.set(receiptKey(receipt.deviceId, receipt.key), receipt.outcome);
      groupReceipts.push(receipt);
    }
    positionUs = batch.positionUs;
  });

  return {
    batches: zip(batches, reqs).map(([batch, req], i) => ({
      ...batch,
      notEchoed: notChangedLater(batch.notEchoed, lastWriter, i),
      changedLater: touchedAndChangedLater(req, lastWriter, i),
    })),
    befores,
    writes: {
      rowsByTable: new Map(
        [...written].map(([table, byId]) => [
          table,
          [...byId.values()].map((row) => withPositions(row, loaded.rows.get(entityKey(typeOf(table), row.id)))),
        ]),
      ),
      lastUs: positionUs > clock.lastUs ? positionUs : null,
      receipts: groupReceipts,
      devices: [...devices.values()],
      records: [],
      decisions: countDecisions(batches),
    },
    positionUs,
  };
}

/**
 * PROTOCOL 2.10: the row as written, with the field positions it leaves, computed against the
 * row as loaded (what PostgreSQL holds before the group's statement), as the trigger would.
 */
function withPositions(row: StoredRow, loaded: StoredRow | undefined): StoredRow {
  return { ...row, fieldPositions: positionsAfter(loaded, row) };
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

/** The rows a request touches and the receipts of its changes, as they stand when it is decided. */
function beforeOf(
  req: SyncRequestContext,
  rows: ReadonlyMap<string, StoredRow>,
  receipts: ReadonlyMap<string, StoredOutcome>,
  policies: Loaded['policies'],
): RequestBefore {
  const before: RequestBefore = { rows: [], receipts: [] };
  // The family's policies in force for the types it touched (PROTOCOL 2.12): replay uses them.
  const types = new Set(req.changes.map((c) => c.change.entity_type));
  const inForce = [...(policies ?? [])].filter(([type]) => types.has(type));
  if (inForce.length > 0) before.policies = Object.fromEntries(inForce.map(([type, fields]) => [type, [...fields].sort()]));
  const seen = new Set<string>();
  for (const { change, key } of req.changes) {
    const entity = entityKey(change.entity_type, change.entity_id);
    const row = rows.get(entity);
    if (row && !seen.has(entity))
      before.rows.push({
        type: change.entity_type,
        id: change.entity_id,
        row: { version: row.version, data: row.data, fieldClocks: row.fieldClocks, deleted: row.deleted },
      });
    seen.add(entity);
    const receipt = receipts.get(receiptKey(req.deviceId, key));
    if (receipt && !seen.has(`\u0001${key}`)) before.receipts.push({ key, outcome: receipt });
    seen.add(`\u0001${key}`);
  }
  return before;
}

/** The group's inbox decisions, summed per entity type and field (PROTOCOL 2.12). */
function countDecisions(batches: EvaluatedBatch[]): GroupWrites['decisions'] {
  const counts = new Map<string, GroupWrites['decisions'][number]>();
  for (const batch of batches) {
    if (batch.discarded) continue;
    for (const { entityType, field, restored } of batch.decisions ?? []) {
      const key = `${entityType}\u0000${field}`;
      const count = counts.get(key) ?? { entityType, field, decisions: 0, restored: 0 };
      counts.set(key, { ...count, decisions: count.decisions + 1, restored: count.restored + (restored ? 1 : 0) });
    }
  }
  return [...counts.values()];
}
