import { sameValue } from './rules/rules';
import type { EntityData } from './sync-change';

/** PROTOCOL 2.10: per field of `data`, the position (µs) of the write that last wrote it. */
export type FieldPositions = Record<string, number>;

/** What the positions of a row depend on: its data, its position and (before a write) its positions. */
export interface PositionedRow {
  data: EntityData | null;
  changedUs: number;
  fieldPositions?: FieldPositions | null;
}

const isObject = (data: EntityData | null | undefined): data is EntityData =>
  typeof data === 'object' && data !== null && !Array.isArray(data);

/**
 * The `field_positions` a write leaves (PROTOCOL 2.10), computed by the writer itself: the
 * same rules as the `sync_field_positions` trigger (synced-table.migration.ts), which skips a
 * row whose writer supplied them. A written field takes the write's position; an unchanged
 * one keeps its own (unknown: the row's previous position, which is at least as late); a field
 * that disappeared, or a tombstone, makes the map unknown (null: the entity is pulled whole).
 */
export function positionsAfter(before: PositionedRow | undefined, after: PositionedRow): FieldPositions | null {
  if (!isObject(after.data)) return null;
  const keys = Object.keys(after.data).filter((k) => after.data![k] !== undefined);
  if (before === undefined || !isObject(before.data)) return Object.fromEntries(keys.map((k) => [k, after.changedUs]));
  const old = before.data;
  if (after.changedUs === before.changedUs && sameValue(after.data, old)) return before.fieldPositions ?? null;
  if (Object.keys(old).some((k) => old[k] !== undefined && after.data![k] === undefined)) return null;
  return Object.fromEntries(
    keys.map((k) => [k, sameValue(after.data![k], old[k]) ? (before.fieldPositions?.[k] ?? before.changedUs) : after.changedUs]),
  );
}
