import { Decision, NextState, SyncChangeErrorCode } from '../decision';
import { EntityData, EntityState, FieldClocks, SyncChange } from '../sync-change';

/**
 * Deep equality of plain JSON values. Object key order does not matter: data read back from
 * a jsonb column has its keys reordered, and must still equal the same data sent by a client.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const kx = keys(x);
  return kx.length === keys(y).length && kx.every((k) => Object.hasOwn(y, k) && sameValue(x[k], y[k]));
}

/** Rule 5: a clock running ahead cannot win every future conflict. */
export function clampClientTime(clientUs: number, nowUs: number, maxSkewUs: number): number {
  return Math.min(clientUs, nowUs + maxSkewUs);
}

/** A new entity: every field (defaults included) written at the change's time. */
export function createEntity(data: EntityData, clientUs: number): Decision {
  return {
    kind: 'apply',
    basedOnCurrent: true,
    next: { data, fieldClocks: clocksFor(Object.keys(data), clientUs), deleted: false },
  };
}

/** Rule 2: a delete is applied whatever the version; deleting a tombstone or an unknown id changes nothing. */
export function deleteWins(current: EntityState | undefined): Decision {
  if (!current || current.deleted) return { kind: 'apply', basedOnCurrent: true };
  return { kind: 'apply', basedOnCurrent: true, next: { data: null, fieldClocks: current.fieldClocks, deleted: true } };
}

/** Rule 2: an update or create of a deleted entity loses; the entity stays deleted. */
export const deletedConflict = (): Decision => ({ kind: 'conflict', resolution: 'delete_wins', reason: 'Entity deleted' });

/**
 * What a mutable type decides before its own rules: a delete wins (rule 2), a create of a
 * new id is applied, an update of an unknown id is `not_found`, a change of a deleted entity
 * loses (rule 2). Else the entity is live and the type's own rules decide on it.
 */
export function lifecycleDecision(current: EntityState | undefined, change: SyncChange): { decided: Decision } | { live: EntityState } {
  if (change.action === 'delete') return { decided: deleteWins(current) };
  if (!current) {
    return change.action === 'create'
      ? { decided: createEntity(change.data!, change.clientUs) }
      : {
          decided: { kind: 'error', code: SyncChangeErrorCode.NotFound, message: `${change.entityType} ${change.entityId} does not exist` },
        };
  }
  return current.deleted ? { decided: deletedConflict() } : { live: current };
}

export const serverWins = (reason: string): Decision => ({ kind: 'conflict', resolution: 'server_wins', reason });

/** A patch based on the current version (rule 1): every field is written at the change's time. */
export function applyPatch(current: EntityState, patch: EntityData, clientUs: number): Decision {
  return {
    kind: 'apply',
    basedOnCurrent: true,
    next: {
      data: { ...current.data, ...patch },
      fieldClocks: { ...current.fieldClocks, ...clocksFor(Object.keys(patch), clientUs) },
      deleted: false,
    },
  };
}

/** Per field: true = the client wins, false = the server keeps it, undefined = decide by time (rule 4). */
export type FieldRule = (field: string, value: unknown) => boolean | undefined;

export interface MergeResult {
  next: NextState;
  won: string[];
  lost: string[];
  /** The server's values of fields the change won only by a family policy (PROTOCOL 2.12); absent: none. */
  overridden?: EntityData;
}

/**
 * Rule 4, last writer wins per field: a field of the patch wins when its time is newer
 * than the time that field was last written; a tie goes to the server. A value equal to
 * the server's counts as won (the client's intent is already the state) and writes nothing.
 */
export function mergeFields(
  current: EntityState,
  patch: EntityData,
  clientUs: number,
  rule?: FieldRule,
  keepDevice?: ReadonlySet<string>,
): MergeResult {
  const data: EntityData = { ...current.data };
  const fieldClocks: FieldClocks = { ...current.fieldClocks };
  const won: string[] = [];
  const lost: string[] = [];
  const overridden: EntityData = {};
  for (const [field, value] of Object.entries(patch)) {
    const forced = rule?.(field, value);
    if (forced === undefined && sameValue(data[field], value)) {
      won.push(field);
      continue;
    }
    const newer = clientUs > (fieldClocks[field] ?? Number.NEGATIVE_INFINITY);
    // A family policy (PROTOCOL 2.12) overrides rule 4 only: never a forced outcome (rule 3).
    const byPolicy = forced === undefined && !newer && keepDevice?.has(field) === true;
    const wins = forced ?? (newer || byPolicy);
    if (!wins) {
      lost.push(field);
      continue;
    }
    if (byPolicy) overridden[field] = data[field] ?? null;
    won.push(field);
    data[field] = value;
    fieldClocks[field] = clientUs;
  }
  return { next: { data, fieldClocks, deleted: false }, won, lost, ...(Object.keys(overridden).length > 0 ? { overridden } : {}) };
}

/** Turns a merge into the change's outcome: all won = applied, some = merged, none = conflict. */
export function mergeDecision(merge: MergeResult, reason: string, lostResolution: 'server_wins' | 'done_wins' = 'server_wins'): Decision {
  const overridden = Object.keys(merge.overridden ?? {}).length > 0 ? { overridden: merge.overridden } : {};
  if (merge.lost.length === 0) return { kind: 'apply', basedOnCurrent: false, next: merge.next, ...overridden };
  if (merge.won.length > 0) return { kind: 'merge', next: merge.next, rejectedFields: merge.lost, reason, ...overridden };
  return { kind: 'conflict', resolution: lostResolution, reason, rejectedFields: merge.lost };
}

function clocksFor(fields: string[], us: number): FieldClocks {
  return Object.fromEntries(fields.map((field) => [field, us]));
}
