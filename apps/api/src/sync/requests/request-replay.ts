import { isDeepStrictEqual } from 'node:util';
import { evaluateBatch } from '../push/batch/batch-evaluator';
import { entityKey, receiptKey } from '../push/batch/batch.types';
import { prepareRequest, SyncSettings } from '../push/batch/prepare-request';
import { RecordedOutcome, recordedOutcomes, RequestRecord, rowOfRecord } from '../push/batch/request-record';

/** One change of a replay (PROTOCOL 2.11). */
export interface ReplayedChange {
  index: number;
  entity_type: string;
  entity_id: string;
  /** The rule that decides it today. */
  rule: string;
  recorded: RecordedOutcome;
  replayed: RecordedOutcome;
  same: boolean;
}

export interface ReplayAnswer {
  request_id: string;
  same: boolean;
  changes: ReplayedChange[];
}

/**
 * Pure (PROTOCOL 2.11): the recorded changes decided again by today's rules (`settings`) on
 * the recorded before-state, with the recorded server time and clock-skew bound: the same
 * evaluator as the push, in memory. Data the input guard refused was not recorded: those
 * changes get their recorded validation error again. With the rules unchanged, every
 * change replays the same; a difference is a change of rules (or a bug).
 */
export function replayRecord(record: RequestRecord, familyId: string, settings: SyncSettings): ReplayAnswer {
  const req = prepareRequest(
    { familyId, userId: record.userId },
    { device_id: record.deviceId, atomic: record.atomic, changes: record.changes.map(({ refused: _, ...change }) => change) },
    { ...settings, maxBatch: Number.MAX_SAFE_INTEGER, maxSkewUs: record.maxSkewUs },
  );
  record.changes.forEach((change, i) => {
    const prepared = req.changes[i];
    if (change.refused !== undefined && prepared) Object.assign(prepared, { valid: { ok: false, message: change.refused }, refused: true });
  });
  const loaded = {
    rows: new Map(record.before.rows.map(({ type, id, row }) => [entityKey(type, id), rowOfRecord(id, row)])),
    receipts: new Map(record.before.receipts.map(({ key, outcome }) => [receiptKey(record.deviceId, key), outcome])),
    policies: new Map(Object.entries(record.before.policies ?? {}).map(([type, fields]) => [type, new Set(fields)])),
  };
  const batch = evaluateBatch(req, loaded, { lastUs: record.positionBeforeUs, horizonUs: 0, nowUs: record.serverUs });
  // As stored (jsonb): a field that is undefined is absent.
  const replayed = JSON.parse(JSON.stringify(recordedOutcomes(batch))) as RecordedOutcome[];
  const changes = record.changes.map((change, index): ReplayedChange => {
    const recorded = record.outcomes[index]!;
    const now = replayed[index]!;
    return {
      index,
      entity_type: change.entity_type,
      entity_id: change.entity_id,
      rule: now.rule,
      recorded,
      replayed: now,
      same: isDeepStrictEqual(recorded, now),
    };
  });
  return { request_id: record.id, same: changes.every((c) => c.same), changes };
}
