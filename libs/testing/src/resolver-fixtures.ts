import type { EntityData, EntityState, FieldClocks, SyncAction, SyncChange } from '@app/sync-contract';

/**
 * Fixtures of the pure conflict-resolver tables. Times are microseconds since the epoch;
 * `t(n)` is n seconds after a fixed instant. Import from `@app/testing/resolver-fixtures`
 * (the package index also loads the database helpers).
 */
export const BASE_US = 1_762_000_000_000_000;
export const t = (seconds: number): number => BASE_US + seconds * 1_000_000;

/** A change builder for one entity: `(action, data, version, clientUs)`. */
export const changeOf =
  (entityType: string, entityId: string) =>
  (action: SyncAction, data: EntityData | undefined, version: number | undefined, clientUs: number): SyncChange => ({
    index: 0,
    entityType,
    entityId,
    action,
    data,
    version,
    clientUs,
  });

export const liveState = (data: EntityData, fieldClocks: FieldClocks, version: number): EntityState => ({
  version,
  data,
  fieldClocks,
  deleted: false,
});

export const tombstoneAt = (version: number): EntityState => ({ version, data: null, fieldClocks: { title: t(10) }, deleted: true });

/** The decision's next state with the given fields changed from `current` (data and clocks). */
export const nextOf = (current: EntityState, data: EntityData, clocks: FieldClocks) => ({
  data: { ...current.data, ...data },
  fieldClocks: { ...current.fieldClocks, ...clocks },
  deleted: false,
});

/** Every field of `data` written at `us`. */
export const clocksAt = (data: EntityData, us: number): FieldClocks => Object.fromEntries(Object.keys(data).map((k) => [k, us]));
