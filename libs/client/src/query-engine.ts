import type { Entity } from './types.js';

/** A field value a query can compare: JSON's scalars. */
export type Scalar = string | number | boolean | null;

/** The fields of `T` whose values are scalars (the ones `where` and `orderBy` take). */
export type ScalarField<T> = { [K in keyof T]-?: T[K] extends Scalar ? K : never }[keyof T] & string;

/** A range: the bounds given must all hold; `null` and values of another type never match. */
export interface Range<V> {
  gt?: V;
  gte?: V;
  lt?: V;
  lte?: V;
}

/** One field's condition: a value (equality; `null` also matches a missing field), `{in: [...]}` or a range. */
export type Condition<V> = V | { in: readonly V[] } | Range<NonNullable<V>>;

/** Conditions on scalar fields (all must hold); `id` is the entity's id. */
export type Where<T> = { [K in ScalarField<T>]?: Condition<T[K]> } & { id?: Condition<string> };

/** A sort key: a field, ascending, or `{field, desc: true}`. Ties are broken by id, ascending. */
export type OrderBy<T> = ScalarField<T> | { field: ScalarField<T>; desc?: boolean };

export interface QueryOptions<T> {
  /** Field equality, `in` or a range, per field; every condition must hold. */
  where?: Where<T>;
  /** One or two sort keys; default: by id. */
  orderBy?: OrderBy<T> | readonly [OrderBy<T>] | readonly [OrderBy<T>, OrderBy<T>];
  /** At most this many rows. */
  limit?: number;
  /** Cursor pagination: only rows after this one in the sort order (pass the last row of the previous page). */
  after?: Pick<Entity<T>, 'id' | 'data'>;
}

/** A query's options checked and normalised once, for the pure functions below. */
export interface QueryPlan {
  conditions: [field: string, test: (v: unknown) => boolean][];
  sorts: { field: string; desc: boolean }[];
  limit: number;
  after?: Pick<Entity, 'id' | 'data'>;
}

export function planQuery<T>(options: QueryOptions<T>): QueryPlan {
  const where = (options.where ?? {}) as Record<string, unknown>;
  const conditions = Object.entries(where)
    .filter(([, c]) => c !== undefined)
    .map(([field, c]): [string, (v: unknown) => boolean] => [field, conditionTest(c)]);
  const keys = (Array.isArray(options.orderBy) ? options.orderBy : options.orderBy === undefined ? [] : [options.orderBy]) as (
    string | { field: string; desc?: boolean }
  )[];
  if (keys.length > 2) throw new Error('orderBy takes at most two fields');
  const sorts = keys.map((k) => (typeof k === 'string' ? { field: k, desc: false } : { field: k.field, desc: k.desc === true }));
  const limit = options.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) throw new Error('limit must be a positive integer');
  return { conditions, sorts, limit, after: options.after as QueryPlan['after'] };
}

function conditionTest(c: unknown): (v: unknown) => boolean {
  if (c === null || typeof c !== 'object') return (v) => (v ?? null) === c;
  if ('in' in c) {
    const set = new Set((c as { in: readonly unknown[] }).in);
    return (v) => set.has(v ?? null);
  }
  const { gt, gte, lt, lte } = c as Range<Scalar>;
  const bound = [gt, gte, lt, lte].find((b) => b !== undefined && b !== null);
  return (v) =>
    v !== null &&
    v !== undefined &&
    (bound === undefined || typeof v === typeof bound) &&
    (gt === undefined || compareValues(v, gt) > 0) &&
    (gte === undefined || compareValues(v, gte) >= 0) &&
    (lt === undefined || compareValues(v, lt) < 0) &&
    (lte === undefined || compareValues(v, lte) <= 0);
}

const field = (e: Pick<Entity, 'id' | 'data'>, name: string): unknown => (name === 'id' ? e.id : e.data[name]);

export function matches(e: Pick<Entity, 'id' | 'data'>, plan: QueryPlan): boolean {
  for (const [name, test] of plan.conditions) if (!test(field(e, name))) return false;
  return true;
}

const rank = (v: unknown): number =>
  v === null || v === undefined ? 0 : typeof v === 'boolean' ? 1 : typeof v === 'number' ? 2 : typeof v === 'string' ? 3 : 4;

/** A total order over JSON values: missing and null first, then booleans, numbers, strings (by code unit), the rest as JSON. */
export function compareValues(a: unknown, b: unknown): number {
  const [ra, rb] = [rank(a), rank(b)];
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  const [x, y] = ra === 4 ? [JSON.stringify(a), JSON.stringify(b)] : [a as string | number | boolean, b as string | number | boolean];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The plan's order: its sort keys, then id, so every row has one place (what `after` relies on). */
export function compareRows(a: Pick<Entity, 'id' | 'data'>, b: Pick<Entity, 'id' | 'data'>, plan: QueryPlan): number {
  for (const s of plan.sorts) {
    const c = compareValues(field(a, s.field), field(b, s.field));
    if (c !== 0) return s.desc ? -c : c;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The rows that match, in order, after the cursor, at most `limit`. Pure. With a limit it
 * keeps only the best `limit` rows while scanning (binary insertion), so a page of 50 out
 * of 50,000 costs one pass and no full sort.
 */
export function runQuery<E extends Pick<Entity, 'id' | 'data'>>(rows: Iterable<E>, plan: QueryPlan): E[] {
  const out: E[] = [];
  const cmp = (a: E, b: E) => compareRows(a, b, plan);
  const bounded = plan.limit !== Infinity;
  for (const e of rows) {
    if (!matches(e, plan)) continue;
    if (plan.after && compareRows(e, plan.after, plan) <= 0) continue;
    if (!bounded) {
      out.push(e);
      continue;
    }
    if (out.length === plan.limit && cmp(e, out[out.length - 1]) >= 0) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(out[mid], e) < 0) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, e);
    if (out.length > plan.limit) out.pop();
  }
  return bounded ? out : out.sort(cmp);
}
