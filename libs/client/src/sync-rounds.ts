import { backoffDelay, RetryPolicy } from './backoff.js';
import { BatchLimits } from './batch-limits.js';
import { BatchPusher } from './batch-push.js';
import { ClientLifecycle } from './client-lifecycle.js';
import { Log } from './client-log.js';
import { ClientStatus } from './client-status.js';
import { DeltaSenderOptions } from './delta-sender.js';
import { GZIP_THRESHOLD } from './delta-transport.js';
import { Emitter } from './emitter.js';
import { LocalStore } from './local-store.js';
import { byLane } from './outbox-lanes.js';
import { PageApplier } from './page-apply.js';
import { platform } from './platform.js';
import { serviceFetch, serviceUrl } from './service-endpoints.js';
import { StorageFullError } from './storage.js';
import { SyncClientOptions } from './sync-client.options.js';
import { OutgoingChange, SyncClientEvents } from './types.js';

export interface SyncRoundsParts {
  life: ClientLifecycle;
  local: LocalStore;
  limits: BatchLimits;
  retry: RetryPolicy;
  pusher: BatchPusher;
  pages: PageApplier;
  status: ClientStatus;
  events: Emitter<SyncClientEvents>;
  log: Log;
}

/**
 * Sync rounds, one at a time: each pushes the outbox in batches and pulls until `has_more`
 * is false. After a failed round it retries on its own, backing off, while changes wait.
 */
export class SyncRounds {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** Ends a sleep early; `true` for a backoff, which resume() may cut short too. */
  private readonly wakers = new Map<() => void, boolean>();
  /** Rounds failed in a row; the resume timer backs off on it. */
  private failures = 0;
  private resumeTimer: unknown = undefined;

  constructor(
    private readonly opts: SyncClientOptions,
    private readonly parts: SyncRoundsParts,
  ) {}

  /** Starts a round, or joins the next one while one runs: it also carries the changes made since. */
  run(): Promise<void> {
    if (!this.running) return this.startRound();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.startRound();
      });
    return this.queued;
  }

  /**
   * Sends the outbox when it holds something: the server may be reachable again. Only
   * while the app wants it sent on its own: in live mode, or since a round it ran failed
   * (`live(false)` hands the timing back to the app, as the demo's offline switch does).
   */
  resume(): void {
    const { life, local } = this.parts;
    if (!life.started || life.stopped || !life.leads || local.outbox.length === 0) return;
    if (!life.liveWanted && this.failures === 0) return;
    this.clearResumeTimer();
    for (const [wake, backoff] of [...this.wakers]) if (backoff) wake();
    this.run().catch(() => undefined);
  }

  /** The app takes the timing back (`live(false)`): no retry on its own until a round fails again. */
  forgetFailures(): void {
    this.failures = 0;
    this.clearResumeTimer();
  }

  clearResumeTimer(): void {
    if (this.resumeTimer !== undefined) platform.clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
  }

  /** Wakes every sleep (a stopped client's round then fails) and resolves once the rounds have ended. */
  async stop(): Promise<void> {
    for (const wake of [...this.wakers.keys()]) wake();
    await Promise.allSettled([this.running, this.queued]);
  }

  private startRound(): Promise<void> {
    const round: Promise<void> = this.runRound().finally(() => {
      if (this.running === round) this.running = null;
    });
    this.running = round;
    return round;
  }

  private async runRound(): Promise<void> {
    const { life, local, limits, pusher, pages, status, events, log } = this.parts;
    status.setState('syncing');
    try {
      // The changes present now are this round's; later ones go with the next round.
      let remaining = local.outbox.length;
      const sender = this.sender();
      limits.newRound();
      for (;;) {
        await local.settled();
        const batch = limits.take(this.sendOrder(local.outbox), remaining);
        const res = await pusher.push(sender, batch);
        if (!res) continue;
        await pages.apply(batch, res);
        remaining -= batch.length;
        if (!res.has_more && remaining <= 0) break;
      }
      this.failures = 0;
      this.clearResumeTimer();
      status.setState('idle');
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.failures += 1;
      log(this.failures > 1 ? 'info' : 'warn', 'sync round failed; the outbox is kept and resent', {
        error: error.message,
        failures: this.failures,
        pending: local.outbox.length,
      });
      this.scheduleResume((error as { retryAfterMs?: number }).retryAfterMs);
      status.setState(error instanceof StorageFullError ? 'blocked' : 'offline');
      if (!life.stopped) events.emit('error', { kind: 'sync', error, status: (error as { status?: number }).status });
      throw error;
    }
  }

  /**
   * After a failed round with changes waiting: try again after a capped, jittered backoff
   * (or the server's Retry-After), for as long as changes wait, so an edit never stays
   * queued until the app happens to call sync().
   */
  private scheduleResume(retryAfterMs?: number): void {
    if (this.parts.life.stopped || this.parts.local.outbox.length === 0) return;
    this.clearResumeTimer();
    const ms = retryAfterMs ?? backoffDelay(this.failures, { ...this.parts.retry, maxAttempts: Infinity }, this.opts.random ?? Math.random);
    this.resumeTimer = platform.setTimeout(() => {
      this.resumeTimer = undefined;
      this.resume();
    }, ms);
  }

  /** The outbox in the order it is sent: lane by lane unless lanes are off (PROTOCOL 2.9). */
  private sendOrder(outbox: readonly OutgoingChange[]): readonly OutgoingChange[] {
    return this.opts.lanes === false ? outbox : byLane(outbox, this.opts.typeLanes);
  }

  private sender(): DeltaSenderOptions {
    const fetchFn = serviceFetch(this.opts);
    return {
      url: serviceUrl(this.opts, '/sync/delta'),
      fetch: fetchFn,
      getToken: this.opts.getToken,
      retry: this.parts.retry,
      timeoutMs: this.opts.requestTimeoutMs ?? 30_000,
      gzipThreshold: this.opts.gzipThreshold ?? GZIP_THRESHOLD,
      random: this.opts.random ?? Math.random,
      wait: (ms, asked) => this.wait(ms, !asked),
      onWait: () => this.parts.status.setState('waiting'),
    };
  }

  /** Sleeps `ms`; stop() cuts the sleep short and fails the round, resume() ends a backoff early. */
  private async wait(ms: number, backoff: boolean): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = () => {
        this.wakers.delete(wake);
        platform.clearTimeout(timer);
        resolve();
      };
      const timer = platform.setTimeout(wake, ms);
      this.wakers.set(wake, backoff);
    });
    if (this.parts.life.stopped) throw new Error('SyncClient stopped');
    this.parts.status.setState('syncing');
  }
}
