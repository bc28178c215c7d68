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
} from '@app/sync-contract';
import type { PreparedChange, StoredRow } from './batch.types';

/** One entity touched by the batch: as loaded, and as the changes so far left it. Never mutated. */
export interface BatchEntity {
  type: string;
  id: string;
  resolver: ConflictResolver;
  loaded?: StoredRow;
  state?: EntityState;
  clientUs: number;
  /** Index of the last change that changed its state; -1: none. */
  lastIndex: number;
  /** Changed after the client's watermark by someone else: it goes back in server_changes. */
  changedByOthers: boolean;
  /** Some change of this request was merged or lost: it goes back in server_changes. */
  notFullyApplied: boolean;
}

export function loadedEntity(
  type: string,
  resolver: ConflictResolver,
  id: string,
  found: { row?: StoredRow; since: number | null },
): BatchEntity {
  const { row, since } = found;
  return {
    type,
    id,
    resolver,
    loaded: row,
    state: row && { version: row.version, data: row.data, fieldClocks: row.fieldClocks, deleted: row.deleted },
    clientUs: row?.clientUs ?? 0,
    lastIndex: -1,
    changedByOthers: row !== undefined && (since === null || row.changedUs > since),
    notFullyApplied: false,
  };
}

export interface EvaluationClock {
  nowUs: number;
  maxSkewUs: number;
  /** PROTOCOL 2.12: the family's `keep_device` fields per entity type. */
  policies?: ReadonlyMap<string, ReadonlySet<string>>;
}

export type ChangeVerdict =
  | { kind: 'error'; code: SyncChangeErrorCode; message: string }
  /** `version`: the entity's version right after this change. */
  | { kind: 'decided'; decision: Decision; version: number };

export interface ChangeEvaluation {
  verdict: ChangeVerdict;
  /** The entity as this change leaves it (unchanged when the change is an error). */
  entity?: BatchEntity;
  transition?: StateTransition;
}

const error = (code: SyncChangeErrorCode, message: string): ChangeEvaluation => ({ verdict: { kind: 'error', code, message } });

/** One change against its entity as the batch left it so far: the resolver's decision and the next entity. */
export function evaluateChange(prepared: PreparedChange, entity: BatchEntity | undefined, clock: EvaluationClock): ChangeEvaluation {
  const { change, index, resolver, valid } = prepared;
  if (!resolver || !entity) return error(SyncChangeErrorCode.UnknownEntityType, `unknown entity_type "${change.entity_type}"`);
  let data: EntityData | undefined;
  let patch: EntityData | undefined;
  if (valid) {
    if (!valid.ok) return error(SyncChangeErrorCode.Validation, valid.message);
    data = valid.data;
    const sent = new Set(Object.keys(change.data ?? {}));
    patch = Object.fromEntries(Object.entries(data).filter(([field]) => sent.has(field)));
  }
  const syncChange: SyncChange = {
    index,
    entityType: change.entity_type,
    entityId: change.entity_id,
    action: change.action,
    data,
    patch,
    version: change.version,
    clientUs: clampClientTime(prepared.clientUs, clock.nowUs, clock.maxSkewUs),
  };
  const decision = resolver.resolve(entity.state, syncChange, { nowUs: clock.nowUs, keepDevice: clock.policies?.get(change.entity_type) });
  if (decision.kind === 'error') return error(decision.code, decision.message);
  let next = entity;
  let transition: StateTransition | undefined;
  if (decision.kind === 'apply' || decision.kind === 'merge') {
    const problem = decision.next?.data && resolver.checkState?.(decision.next.data);
    if (problem) return error(SyncChangeErrorCode.Validation, problem);
    if (decision.next && !sameState(entity.state, decision.next)) {
      const state = { ...decision.next, version: (entity.state?.version ?? 0) + 1 };
      transition = { entityType: entity.type, entityId: entity.id, before: entity.state, after: state, clientUs: syncChange.clientUs };
      next = { ...next, state, lastIndex: index, clientUs: syncChange.clientUs };
    }
  }
  if (decision.kind !== 'apply') next = { ...next, notFullyApplied: true };
  return { verdict: { kind: 'decided', decision, version: next.state?.version ?? 0 }, entity: next, transition };
}

function sameState(current: EntityState | undefined, next: NextState): boolean {
  return current !== undefined && current.deleted === next.deleted && sameValue(current.data, next.data);
}
