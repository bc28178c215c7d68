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

/**
 * Where a group stands. A group starts `asking` (it asks the database for the key's lock) or,
 * when it succeeds a group of ours, `gathering` (newcomers join it while it asks). It is
 * `holding` once the lock is granted (newcomers still join), `running` once it took its
 * requests (newcomers wait for its successor), `closed` when it took them without the lock
 * (none of their users is a member, or the lock failed), and `taken` when a group of ours got
 * the lock first and took its requests along (it ends with nothing to do); then `done`.
 *
 *   asking ──successors handed over──▶ gathering
 *   asking | gathering ──lock granted──▶ holding ──take──▶ running ──▶ done
 *   asking | gathering ──take without the lock──▶ closed ──▶ done
 *   asking | gathering ──another group took its requests──▶ taken ──lock granted──▶ running
 */
type Phase = 'asking' | 'gathering' | 'holding' | 'running' | 'closed' | 'taken' | 'done';

interface Group<I, R> {
  phase: Phase;
  members: Waiting<I, R>[];
  /** Arrived while this group was running: they run as its successor. */
  next: Waiting<I, R>[];
  /** Settles when the group took its requests, or ended. */
  took: Promise<void>;
  markTook(): void;
}

/** Newcomers join a group in these phases. */
const JOINABLE: readonly Phase[] = ['gathering', 'holding'];
/** The group holds the lock (or will run as if it did): newcomers queue as its successors. */
const LOCK_HELD: readonly Phase[] = ['holding', 'running'];
/** The group's requests are settled as far as joining goes: nobody joins or takes them any more. */
const CLOSED: readonly Phase[] = ['running', 'closed', 'taken', 'done'];

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
export class CommitQueue<I, R> {
  private readonly groups = new Map<string, Group<I, R>[]>();

  constructor(
    private readonly run: (session: GroupSession<I>) => Promise<Settled<R>[]>,
    private readonly maxItems: number,
  ) {}

  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiting = { item, resolve, reject };
      const groups = this.groups.get(key) ?? [];
      const open = groups.find((g) => JOINABLE.includes(g.phase) && g.members.length < this.maxItems);
      if (open) return void open.members.push(waiting);
      const holder = groups.find((g) => LOCK_HELD.includes(g.phase));
      if (holder) return void holder.next.push(waiting);
      this.start(key, [waiting], false);
    });
  }

  /** Requests of `key` waiting or running. */
  pending(key: string): number {
    return (this.groups.get(key) ?? []).reduce((n, g) => n + g.members.length + g.next.length, 0);
  }

  private start(key: string, members: Waiting<I, R>[], successor: boolean): void {
    let markTook = () => undefined as void;
    const took = new Promise<void>((resolve) => (markTook = resolve));
    const ahead = (this.groups.get(key) ?? []).filter((g) => !CLOSED.includes(g.phase));
    const group: Group<I, R> = { phase: successor ? 'gathering' : 'asking', members, next: [], took, markTook };
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
      // A group taken along while it asked also gets the lock in the end: it runs (with nothing).
      locked: () => {
        group.phase = group.phase === 'taken' ? 'running' : 'holding';
      },
      peek: () => group.members.map((w) => w.item),
      take: (count) => {
        if (!CLOSED.includes(group.phase)) {
          group.phase = group.phase === 'holding' ? 'running' : 'closed';
          // The lock is ours: the requests of our other groups still waiting for it come along
          // (those groups then take nothing, and end when they get the lock in turn).
          if (count === undefined) {
            for (const other of this.groups.get(key) ?? []) {
              if (other === group || CLOSED.includes(other.phase)) continue;
              other.phase = 'taken';
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
      settled = group.phase === 'taken' && group.members.length === 0 ? [] : await this.run(session);
    } catch (error) {
      failure = error ?? new Error('group failed');
    }
    group.markTook();
    const remaining = (this.groups.get(key) ?? []).filter((g) => g !== group);
    if (remaining.length > 0) this.groups.set(key, remaining);
    else this.groups.delete(key);
    // The run may fail before it took its requests (the lock itself failed): all of them get the error.
    group.phase = 'done';
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
    const waiting = (this.groups.get(key) ?? []).find((g) => !CLOSED.includes(g.phase));
    if (waiting) {
      waiting.members.push(...group.next);
      if (waiting.phase === 'asking') waiting.phase = 'gathering';
    } else this.start(key, group.next, true);
  }
}
