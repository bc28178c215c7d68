import { newId, platform } from './platform.js';
import { SyncStorage } from './storage.js';
import { StatusEvent } from './types.js';

/** What tabs of one storage tell each other over their BroadcastChannel. */
export type TabMessage =
  /** `from` stored changes of these entities in the outbox (another tab's edit, or a merge). */
  | { kind: 'outbox'; from: string; keys: string[] }
  /** The leader stored a page: these entities (all on a resync) changed in the replica. */
  | { kind: 'replica'; from: string; keys: string[]; resync: boolean }
  /** A follower's sync(): the leader runs a round that carries what is stored now, then answers. */
  | { kind: 'sync'; from: string; ask: string }
  | { kind: 'synced'; from: string; ask: string; error?: string }
  /** The leader's round state and socket, for followers' status. */
  | { kind: 'status'; from: string; state: StatusEvent['state']; live: StatusEvent['live'] }
  /** The leader is stopping: another tab may take over at once. */
  | { kind: 'bye'; from: string };

interface ChannelLike {
  onmessage: ((ev: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
}
interface LockManagerLike {
  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>;
}
interface TabGlobals {
  BroadcastChannel?: new (name: string) => ChannelLike;
  navigator?: { locks?: LockManagerLike };
  document?: unknown;
}
const tabGlobals = platform as unknown as TabGlobals;

export const canShareTabs = (): boolean => typeof tabGlobals.BroadcastChannel === 'function';

export interface TabCoordinatorOptions {
  /** SyncStorage.shared: tabs with the same name coordinate. */
  name: string;
  lease?: SyncStorage['lease'];
  leaseMs?: number;
  onLeadership(leader: boolean): void;
  onMessage(message: TabMessage): void;
}

/**
 * One leader among the tabs of one storage: the tab that syncs. Web Locks where the
 * browser has them (the lock is released when a tab closes or crashes, and the next
 * waiting tab gets it); elsewhere a lease in the storage itself, renewed every third of
 * its time and taken over once it expires or its holder says `bye`.
 */
export class TabCoordinator {
  readonly id = newId();
  private leader = false;
  private stopped = false;
  private channel: ChannelLike | null = null;
  private releaseLock: (() => void) | null = null;
  private timer: unknown = undefined;
  /** This follower's sync() calls waiting for the leader's answer. */
  private readonly asks = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  /** Asks this leader is running a round for. */
  private readonly serving = new Set<string>();

  constructor(private readonly opts: TabCoordinatorOptions) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /** Resolves once this tab knows whether it leads now (it may become leader later). */
  async start(): Promise<void> {
    this.channel = new tabGlobals.BroadcastChannel!(this.opts.name);
    this.channel.onmessage = (ev) => this.receive(ev.data as TabMessage);
    // Web Locks only in a browser: Node 24 has navigator.locks too, process-wide, where the
    // property test of tabs closed mid-round found no tab left leading (under investigation);
    // elsewhere the storage's lease elects the leader, as on Node 20.
    const locks = tabGlobals.document !== undefined ? tabGlobals.navigator?.locks : undefined;
    if (locks) {
      const hold = () =>
        new Promise<void>((release) => {
          if (this.stopped) return release();
          this.releaseLock = release;
          this.setLeader(true);
        });
      // request() settles only when the lock is released: wait for the decision instead.
      const got = await new Promise<boolean>((decided) => {
        void locks.request(this.opts.name, { ifAvailable: true }, (lock) => {
          decided(lock !== null);
          return lock !== null ? hold() : Promise.resolve();
        });
      });
      if (!got && !this.stopped) void locks.request(this.opts.name, {}, hold);
    } else if (this.opts.lease) {
      await this.renew();
    } else {
      this.setLeader(true);
    }
  }

  /**
   * A follower's sync(): the leader runs a round and answers. The ask is repeated every
   * second until answered (a leader may close before answering, or none may lead for a
   * moment), and given up after `timeoutMs`.
   */
  askLeader(timeoutMs: number): Promise<void> {
    const ask = newId();
    return new Promise<void>((resolve, reject) => {
      const post = () => this.post({ kind: 'sync', from: this.id, ask });
      const repeat = platform.setInterval(post, 1000);
      const giveUp = platform.setTimeout(() => done(new Error('no leader tab answered')), timeoutMs);
      const done = (err?: Error) => {
        platform.clearInterval(repeat);
        platform.clearTimeout(giveUp);
        this.asks.delete(ask);
        if (err) reject(err);
        else resolve();
      };
      this.asks.set(ask, { resolve: () => done(), reject: done });
      post();
    });
  }

  /** The leader's side: runs `round` once per ask however often it is repeated, then answers. */
  serve(ask: string, round: () => Promise<void>): void {
    if (this.serving.has(ask)) return;
    this.serving.add(ask);
    const answer = (error?: string) => {
      this.serving.delete(ask);
      this.post({ kind: 'synced', from: this.id, ask, ...(error === undefined ? {} : { error }) });
    };
    round().then(
      () => answer(),
      (err: Error) => answer(err.message),
    );
  }

  answered(ask: string, error?: string): void {
    const waiting = this.asks.get(ask);
    if (error === undefined) waiting?.resolve();
    else waiting?.reject(new Error(error));
  }

  /** The asks still waiting, for a tab that now leads to run itself. */
  takeAsks(): { resolve: () => void; reject: (err: Error) => void }[] {
    return [...this.asks.values()];
  }

  post(message: TabMessage): void {
    this.channel?.postMessage(message);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) platform.clearTimeout(this.timer);
    const wasLeader = this.leader;
    this.leader = false;
    this.releaseLock?.();
    if (wasLeader && this.opts.lease) await this.opts.lease(this.id, 0, true).catch(() => undefined);
    if (wasLeader) this.post({ kind: 'bye', from: this.id });
    this.channel?.close();
    this.channel = null;
    for (const waiting of [...this.asks.values()]) waiting.reject(new Error('SyncClient stopped'));
  }

  private receive(message: TabMessage): void {
    if (this.stopped || message.from === this.id) return;
    if (message.kind === 'bye' && this.opts.lease && !this.leader) void this.renew();
    this.opts.onMessage(message);
  }

  private async renew(): Promise<void> {
    if (this.timer !== undefined) platform.clearTimeout(this.timer);
    const ms = this.opts.leaseMs ?? 3000;
    const mine = await this.opts.lease!(this.id, ms).catch(() => false);
    if (this.stopped) return;
    this.setLeader(mine);
    this.timer = platform.setTimeout(() => void this.renew(), Math.round(ms / 3));
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.opts.onLeadership(leader);
  }
}
