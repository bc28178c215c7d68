/** Requests, rows and settings shared by the batch evaluator's specs (test-only: the build excludes *.fixtures.ts). */
import { ConflictResolver } from '@app/sync-contract';
import { t } from '@app/testing/resolver-fixtures';
import { EventConflictResolver } from '../../../event/event.conflict-resolver';
import { TaskConflictResolver } from '../../../task/task.conflict-resolver';
import type { SyncChangeInput } from '../../dto/delta-request';
import { entityKey, FamilyClock, Loaded, receiptKey, StoredOutcome, StoredRow } from './batch.types';
import { evaluateBatch } from './batch-evaluator';
import { prepareRequest } from './prepare-request';

export const resolvers: Record<string, ConflictResolver> = { task: new TaskConflictResolver(), event: new EventConflictResolver() };
export const settings = {
  maxBatch: 10,
  maxSkewUs: 300_000_000,
  maxRejectedBytes: 16_384,
  find: (type: string) => resolvers[type],
  laneOf: (type: string) => resolvers[type]?.lane ?? 1,
};
export const scope = { familyId: '00000000-0000-4000-8000-000000000001', userId: 'alice' };
export const NOW = t(1000);
/** The family's last commit was at t(900); the lock was granted at t(1000). */
export const clock: FamilyClock = { lastUs: t(900), horizonUs: 0, nowUs: NOW };
export const ISO = (us: number) => new Date(us / 1000).toISOString();

export const TASK = { title: 'Buy milk', desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };
export const taskRow = (id: string, over: Partial<StoredRow> = {}): StoredRow => ({
  id,
  version: 2,
  data: TASK,
  fieldClocks: Object.fromEntries(Object.keys(TASK).map((k) => [k, t(10)])),
  deleted: false,
  clientUs: t(10),
  createdUs: t(100),
  changedUs: t(100),
  deletedUs: null,
  ...over,
});

export const create = (id: string, data: Record<string, unknown> = { title: 'Buy milk' }, at = t(500)): SyncChangeInput => ({
  entity_type: 'task',
  entity_id: id,
  action: 'create',
  data,
  client_timestamp: ISO(at),
});
export const update = (id: string, version: number, data: Record<string, unknown>, at = t(500)): SyncChangeInput => ({
  entity_type: 'task',
  entity_id: id,
  action: 'update',
  version,
  data,
  client_timestamp: ISO(at),
});

export interface Case {
  changes: SyncChangeInput[];
  rows?: StoredRow[];
  receipts?: Record<string, StoredOutcome>;
  since?: string | null;
  atomic?: boolean;
}

export function run({ changes, rows = [], receipts = {}, since = null, atomic = false }: Case) {
  const req = prepareRequest(scope, { device_id: 'phone', changes, last_sync_at: since, atomic }, settings);
  const loaded: Loaded = {
    receipts: new Map(
      req.changes.filter((c) => receipts[c.change.entity_id]).map((c) => [receiptKey(req.deviceId, c.key), receipts[c.change.entity_id]]),
    ),
    rows: new Map(rows.map((r) => [entityKey('task', r.id), r])),
  };
  return { req, batch: evaluateBatch(req, loaded, clock) };
}
