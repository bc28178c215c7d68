import { matches, planQuery, QueryOptions, QueryPlan, runQuery } from './query-engine.js';
import { TypeViews } from './type-views.js';
import { Entity, EntityData } from './types.js';

/** Told of a query's new result. */
export type QueryListener<T = EntityData> = (rows: readonly Entity<T>[]) => void;

/**
 * A query over the local replica with this client's pending changes applied (what `get`
 * and `list` show). `current` is a frozen array that keeps its identity until the result
 * changes, so it can be handed to React's `useSyncExternalStore` or compared by reference.
 */
export interface LiveQuery<T = EntityData> {
  /** The entity type queried. */
  readonly type: string;
  /** The rows now: the same array until a write changes them (empty before `start()` has loaded the replica). */
  readonly current: readonly Entity<T>[];
  /**
   * Calls `listener` with the new rows once per sync page, local edit or other tab's write
   * that changes the result, never for a write that leaves it as it was. Returns the unsubscribe.
   */
  subscribe(listener: QueryListener<T>): () => void;
}

const NONE: readonly Entity[] = Object.freeze([]);

/**
 * The live queries of one client. Each write names the entities it touched; a subscribed
 * query of that type is computed again only when a touched entity is in its result or
 * matches its `where` now (any other cannot change it), and its listeners run only when the
 * rows differ. A query nobody subscribes to is not held here: it is computed when read.
 */
export class LiveQueries {
  private readonly subscribed = new Map<string, Set<QueryState>>();
  private readonly typeWrites = new Map<string, number>();
  private writes = 0;
  private allAt = 0;
  private readonly views: TypeViews;

  constructor(
    /** The type's entities as `get` shows them ([] before the replica is loaded). */
    list: (type: string) => Entity[],
    readonly onListenerError: (error: unknown) => void,
  ) {
    this.views = new TypeViews(list);
  }

  rows(type: string): Iterable<Entity> {
    return this.views.rows(type);
  }

  create<T>(type: string, options: QueryOptions<T>): LiveQuery<T> {
    return new QueryState(this, type, planQuery(options)) as unknown as LiveQuery<T>;
  }

  /** The write count a query of this type was last computed at must equal this to be current. */
  version(type: string): number {
    return Math.max(this.typeWrites.get(type) ?? 0, this.allAt);
  }

  /** After one write (a page, a local edit, another tab's): the keys it touched and their views now. */
  changed(touched: Iterable<string>, view: (key: string) => Entity | undefined): void {
    const byType = new Map<string, [id: string, now: Entity | undefined][]>();
    for (const key of touched) {
      const [type, id] = key.split('\u0000');
      const now = view(key);
      this.views.set(type, id, now);
      const list = byType.get(type) ?? [];
      list.push([id, now]);
      byType.set(type, list);
    }
    const write = ++this.writes;
    for (const [type, entities] of byType) {
      const before = this.version(type);
      this.typeWrites.set(type, write);
      for (const q of [...(this.subscribed.get(type) ?? [])]) q.update(entities, before);
    }
  }

  /** Everything may have changed (the replica was loaded). */
  changedAll(): void {
    this.allAt = ++this.writes;
    this.views.clear();
    for (const set of [...this.subscribed.values()]) for (const q of [...set]) q.update(null, -1);
  }

  hold(q: QueryState): void {
    const set = this.subscribed.get(q.type) ?? new Set();
    set.add(q);
    this.subscribed.set(q.type, set);
  }

  drop(q: QueryState): void {
    this.subscribed.get(q.type)?.delete(q);
  }
}

class QueryState implements LiveQuery {
  private rows = NONE;
  private ids: Set<string> | null = null;
  private seen = -1;
  private readonly listeners = new Set<QueryListener>();

  constructor(
    private readonly all: LiveQueries,
    readonly type: string,
    private readonly plan: QueryPlan,
  ) {}

  get current(): readonly Entity[] {
    if (this.seen !== this.all.version(this.type)) this.compute();
    return this.rows;
  }

  subscribe(listener: QueryListener): () => void {
    if (this.listeners.size === 0) {
      this.all.hold(this);
      void this.current;
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.all.drop(this);
    };
  }

  /**
   * A write touched these entities of the type (null: any); `before` is the type's version
   * before it. Computes again and notifies when the write may matter to the result.
   */
  update(touched: [id: string, now: Entity | undefined][] | null, before: number): void {
    const ids = (this.ids ??= new Set(this.rows.map((r) => r.id)));
    const concerned = !touched || touched.some(([id, now]) => ids.has(id) || (now !== undefined && matches(now, this.plan)));
    // Rows computed before this write and untouched by it are still the result.
    if (!concerned && this.seen === before) {
      this.seen = this.all.version(this.type);
      return;
    }
    if (!this.compute()) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(this.rows);
      } catch (error) {
        this.all.onListenerError(error);
      }
    }
  }

  /** True when the rows changed; otherwise `current` keeps its identity. */
  private compute(): boolean {
    this.seen = this.all.version(this.type);
    const next = runQuery(this.all.rows(this.type), this.plan);
    if (next.length === this.rows.length && next.every((e, i) => e === this.rows[i])) return false;
    this.rows = Object.freeze(next);
    this.ids = null;
    return true;
  }
}
