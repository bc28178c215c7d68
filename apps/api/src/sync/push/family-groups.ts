/** The answer to one request of a group: its value, or the error only it met. */
export type Settled<R> = { value: R } | { error: unknown };

/** What a group's run tells the queue, and asks of it. */
export interface GroupSession<I> {
  /** The group holds the key's lock: requests arriving now wait for it instead of queueing in the database. */
  locked(): void;
  /** The group's requests so far (more may join until `take`). */
  peek(): I[];
  /**
   * Closes the group (idempotent) and returns its requests, in arrival order: `run` answers
   * these. `count`: only the first ones; the others wait for the next group.
   */
  take(count?: number): I[];
}

interface Waiting<I, R> {
  item: I;
  resolve(value: R): void;
  reject(error: unknown): void;
}

interface Group<I, R> {
  members: Waiting<I, R>[];
  /** Arrived while this group held the lock and was closed: they run as its successor. */
  next: Waiting<I, R>[];
  /** Started right after a group of ours released the lock, given its successors, or holding it now. */
  joinable: boolean;
  holding: boolean;
  closed: boolean;
  /** Settles when the group took its requests, or ended. */
  took: Promise<void>;
  markTook(): void;
}

/**
 * How long a new group waits for our group already asking for the lock before it asks too:
 * usually that group gets the lock first and takes it along (so it never touches the
 * database); when the lock is held elsewhere longer, both wait in the database as before.
 */
export const LOCK_PATIENCE_MS = 50;

/**
 * Group commit inside one instance. A request that finds no group of its key (family)
 * holding the lock starts one at once (a lone request never waits for company, and two
 * requests that both wait on a lock held elsewhere each wait in the database, but the first
 * to get it takes the other's request along). Requests
 * arriving while a group of ours holds the lock, before it closes, join it; after it closed,
 * they wait in arrival order and run as its successor once it ends (at most `maxItems`
 * together; the successor takes newcomers until it closes). `run` answers each request of
 * its group; a thrown error answers every request of it.
 */
export class KeyedGroups<I, R> {
  private readonly groups = new Map<string, Group<I, R>[]>();

  constructor(
    private readonly run: (session: GroupSession<I>) => Promise<Settled<R>[]>,
    private readonly maxItems: number,
  ) {}

  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiting = { item, resolve, reject };
      const groups = this.groups.get(key) ?? [];
      const open = groups.find((g) => g.joinable && !g.closed && g.members.length < this.maxItems);
      if (open) return void open.members.push(waiting);
      const holder = groups.find((g) => g.holding);
      if (holder) return void holder.next.push(waiting);
      this.start(key, [waiting], false);
    });
  }

  /** Requests of `key` waiting or running (for tests and metrics). */
  pending(key: string): number {
    return (this.groups.get(key) ?? []).reduce((n, g) => n + g.members.length + g.next.length, 0);
  }

  private start(key: string, members: Waiting<I, R>[], successor: boolean): void {
    let markTook = () => undefined as void;
    const took = new Promise<void>((resolve) => (markTook = resolve));
    const ahead = (this.groups.get(key) ?? []).filter((g) => !g.closed);
    const group: Group<I, R> = { members, next: [], joinable: successor, holding: false, closed: false, took, markTook };
    this.groups.set(key, [...(this.groups.get(key) ?? []), group]);
    void this.execute(key, group, ahead);
  }

  private async execute(key: string, group: Group<I, R>, ahead: Group<I, R>[]): Promise<void> {
    if (ahead.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, LOCK_PATIENCE_MS)));
      await Promise.race([patience, ...ahead.map((g) => g.took)]);
      clearTimeout(timer);
    }
    const session: GroupSession<I> = {
      locked: () => {
        group.holding = true;
        group.joinable = true;
      },
      peek: () => group.members.map((w) => w.item),
      take: (count) => {
        if (!group.closed) {
          group.closed = true;
          // The lock is ours: the requests of our other groups still waiting for it come along
          // (those groups then take nothing, and end when they get the lock in turn).
          if (count === undefined) {
            for (const other of this.groups.get(key) ?? []) {
              if (other === group || other.closed) continue;
              other.closed = true;
              group.members.push(...other.members.splice(0));
            }
          }
          // More than fit (a successor's backlog): the rest waits for the next group.
          group.next.unshift(...group.members.splice(Math.min(count ?? this.maxItems, this.maxItems)));
          group.markTook();
        }
        return group.members.map((w) => w.item);
      },
    };
    let settled: Settled<R>[] | undefined;
    let failure: unknown;
    try {
      // Taken along by a group ahead while waiting: nothing left to run.
      settled = group.closed && group.members.length === 0 ? [] : await this.run(session);
    } catch (error) {
      failure = error ?? new Error('group failed');
    }
    group.markTook();
    const remaining = (this.groups.get(key) ?? []).filter((g) => g !== group);
    if (remaining.length > 0) this.groups.set(key, remaining);
    else this.groups.delete(key);
    // The run may fail before it took its requests (the lock itself failed): all of them get the error.
    group.closed = true;
    group.members.forEach((waiting, i) => {
      const answer = settled?.[i];
      if (settled === undefined) waiting.reject(failure);
      else if (answer === undefined) waiting.reject(new Error('the group gave no answer for this request'));
      else if ('error' in answer) waiting.reject(answer.error);
      else waiting.resolve(answer.value);
    });
    if (group.next.length === 0) return;
    // A group of ours already waits for the lock (it started while this one was itself
    // waiting): the successors join it instead of queueing behind it in the database.
    const waiting = (this.groups.get(key) ?? []).find((g) => !g.closed);
    if (waiting) {
      waiting.members.push(...group.next);
      waiting.joinable = true;
    } else this.start(key, group.next, true);
  }
}
