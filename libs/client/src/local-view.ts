import { EntityData, OutgoingChange, StoredEntity } from './types.js';

/**
 * The fields the server fills in on a create (PROTOCOL 2.2). A create applied as sent comes
 * back in `applied` without data, so the client completes it the same way to hold exactly
 * the server's state.
 */
export const CREATE_DEFAULTS: Record<string, EntityData> = {
  task: { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null },
  event: { description: null, end: null, attendees: [] },
  points_ledger: { reason: null, taskId: null },
};

/** Entity data is JSON (it travels as JSON), so a JSON round trip is a full copy. */
export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Entity types whose updates and deletes carry the version they were based on. */
export const VERSIONED_TYPES: readonly string[] = ['task'];

/** The data after `change`, as the server computes it when the change is based on `current` (undefined = gone). */
export function applyChange(
  current: EntityData | undefined,
  change: Pick<OutgoingChange, 'entity_type' | 'action' | 'data'>,
  defaults: Record<string, EntityData> = CREATE_DEFAULTS,
): EntityData | undefined {
  switch (change.action) {
    case 'delete':
      return undefined;
    case 'create':
      // A create of an existing id is an update (PROTOCOL 2.1).
      return current ? { ...current, ...change.data } : { ...(defaults[change.entity_type] ?? {}), ...change.data };
    case 'update':
      return current ? { ...current, ...change.data } : undefined;
  }
}

/** The replica's entity with the pending changes (already filtered to that entity, in order) applied. */
export function overlay(
  base: StoredEntity | undefined,
  pending: readonly OutgoingChange[],
  defaults?: Record<string, EntityData>,
): EntityData | undefined {
  let data = base?.data;
  for (const change of pending) data = applyChange(data, change, defaults);
  return data;
}

/**
 * The version a new change of an entity is based on: the server's version plus one for
 * every pending change of the entity before it (each applied one raises it by one; a
 * create of a new id gives version 1). Sent with the change, it lets the server apply it
 * without a conflict when nobody else wrote in between, and by field times when someone did.
 */
export const predictedVersion = (base: StoredEntity | undefined, pendingCount: number): number => (base?.version ?? 0) + pendingCount;
