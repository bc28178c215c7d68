import { backoffDelay, DEFAULT_RETRY, RetryPolicy } from './backoff.js';
import { checkChange } from './change-check.js';
import { DeltaSenderOptions, sendDelta } from './delta-sender.js';
import { BatchLimits, DEFAULT_MAX_BODY } from './batch-limits.js';
import { GZIP_THRESHOLD, SyncHttpError } from './delta-transport.js';
import { clientLog, Log } from './client-log.js';
import { Emitter } from './emitter.js';
import { LiveConnection } from './live-connection.js';
import { LocalStore } from './local-store.js';
import { clone, CREATE_DEFAULTS, VERSIONED_TYPES } from './local-view.js';
import { MemoryStorage } from './memory-storage.js';
import { defaultFetch, newId, platform } from './platform.js';
import { applyResponse } from './response-apply.js';
import { SyncClientOptions } from './sync-client.options.js';
import { StorageFullError, SyncStorage } from './storage.js';
import { canShareTabs, TabCoordinator, TabMessage } from './tab-coordinator.js';
import {
  ChangeAction,
  ChangeEvent,
  ChangeStatus,
  DeviceHistoryEntry,
  DeltaResponse,
  Entity,
  EntityData,
  entityKey,
  OutgoingChange,
  StatusEvent,
  SyncClientEvents,
} from './types.js';

/**
 * The offline side of the Delta Sync protocol: a local replica of the family's entities,
 * an outbox of this device's changes, and `sync()` rounds that push the outbox and pull
 * what the device missed (PROTOCOL 2). See the README's "Client SDK".
 */
export class SyncClient {
  private readonly log: Log;
  private readonly events: Emitter<SyncClientEvents>;
  private readonly storage: SyncStorage;
  private readonly local: LocalStore;
  private readonly retry: RetryPolicy;
  private readonly limits: BatchLimits;
  private started = false;
  private stopped = false;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private state: StatusEvent['state'] = 'idle';
  private liveConnection: LiveConnection | null = null;
  private liveState: StatusEvent['live'] = 'off';
  /** Ends a sleep early; `true` for a backoff, which resume() may cut short too. */
  private readonly wakers = new Map<() => void, boolean>();
  /** Rounds failed in a row; the resume timer backs off on it. */
  private failures = 0;
  private resumeTimer: unknown = undefined;
  private readonly onOnline = () => this.resume();
  /** Set when the storage is shared by tabs: only the leader tab syncs. */
  private tabs: TabCoordinator | null = null;
  private liveWanted = false;
  /** The leader tab's last round state and socket, shown by a follower. */
  private leaderStatus: Pick<StatusEvent, 'state' | 'live'> | null = null;

  constructor(private readonly opts: SyncClientOptions) {
    this.log = clientLog(opts.logger, opts.logLevel);
    this.events = new Emitter<SyncClientEvents>((event, error) => this.log('error', `a '${String(event)}' listener threw`, { error }));
    this.storage = opts.storage ?? new MemoryStorage();
    this.local = new LocalStore(this.storage, opts.createDefaults ?? CREATE_DEFAULTS);
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.limits = new BatchLimits(opts.maxBatch ?? 500, opts.maxBodyBytes ?? DEFAULT_MAX_BODY);
  }

  on<K extends keyof SyncClientEvents>(event: K, listener: (e: SyncClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  off<K extends keyof SyncClientEvents>(event: K, listener: (e: SyncClientEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /** Loads the replica, the outbox and the watermark from storage. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.local.load();
    this.started = true;
    platform.addEventListener?.('online', this.onOnline);
    const shared = this.opts.tabs === false ? undefined : this.storage.shared;
    if (shared && canShareTabs()) {
      this.local.mayMerge = false;
      this.tabs = new TabCoordinator({
        name: shared,
        lease: this.storage.lease?.bind(this.storage),
        onLeadership: (leader) =>
          void this.onLeadership(leader).catch((error: unknown) => this.log('error', 'taking over from another tab failed', { error })),
        onMessage: (message) =>
          void this.onTabMessage(message).catch((error: unknown) => this.log('error', "reading another tab's write failed", { error })),
      });
      await this.tabs.start();
    }
    this.emitStatus();
  }

  /** Ends live mode and any waiting round, lets storage writes land; the client is then done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearResumeTimer();
    platform.removeEventListener?.('online', this.onOnline);
    this.live(false);
    for (const wake of [...this.wakers.keys()]) wake();
    await Promise.allSettled([this.running, this.queued, this.local.settled()]);
    // After the last write: the next tab to lead starts from everything this one stored.
    await this.tabs?.stop();
    await this.storage.close?.();
  }

  /** Queues a create; resolves once the outbox holding it is stored. Refused for an id that exists here. */
  create(type: string, id: string, data: EntityData): Promise<void> {
    if (this.get(type, id)) return Promise.reject(new Error(`${type} ${id} already exists`));
    return this.enqueue('create', type, id, data);
  }

  /** Queues a partial update of an entity this client has. */
  update(type: string, id: string, patch: EntityData): Promise<void> {
    if (!this.get(type, id)) return Promise.reject(new Error(`${type} ${id} does not exist here`));
    return this.enqueue('update', type, id, patch);
  }

  delete(type: string, id: string): Promise<void> {
    return this.enqueue('delete', type, id);
  }

  /** The entity as the server last confirmed it with this client's pending changes applied. */
  get(type: string, id: string): Entity | undefined {
    this.assertStarted();
    return this.local.view(entityKey(type, id));
  }

  list(type: string): Entity[] {
    this.assertStarted();
    return this.local.list(type);
  }

  /** Changes waiting for the server, oldest first. */
  pending(): OutgoingChange[] {
    return this.local.outbox.map((c) => clone(c));
  }

  /** What the last `status` event said. */
  status(): StatusEvent {
    const { outbox, lastSyncAt } = this.local;
    const tab = !this.tabs ? 'only' : this.tabs.isLeader ? 'leader' : 'follower';
    // A follower shows the leader's rounds and socket: they are this device's.
    const { state, live } = tab === 'follower' && this.leaderStatus ? this.leaderStatus : { state: this.state, live: this.liveState };
    return { state, pending: outbox.length, lastSyncAt, live, tab };
  }

  /**
   * What became of this device's latest changes (up to 1,000, oldest first): `pending`,
   * `sent`, then `applied`, `conflict` (code: the resolution) or `error` (code: the
   * server's). Stored, so it survives a restart, and shared by the tabs of one storage.
   */
  changes(): ChangeStatus[] {
    return [...this.local.statuses.values()].map((st) => ({ ...st }));
  }

  /** This device's latest outcomes as the server recorded them (PROTOCOL 2.8), newest first. */
  async deviceHistory(limit = 50): Promise<DeviceHistoryEntry[]> {
    const fetchFn = this.opts.fetch ?? defaultFetch();
    if (!fetchFn) throw new Error('no fetch on this platform: pass options.fetch');
    const url = `${this.opts.baseUrl.replace(/\/$/, '')}/sync/devices/${encodeURIComponent(this.opts.deviceId)}/history?limit=${limit}`;
    const token = await this.opts.getToken({ afterUnauthorized: false });
    const res = await fetchFn(url, { method: 'GET', headers: { Authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (res.status !== 200) throw new SyncHttpError(`GET device history: HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
    return JSON.parse(text) as DeviceHistoryEntry[];
  }

  /** The `last_sync_at` of the last page applied (null before the first sync). */
  get lastSyncAt(): string | null {
    return this.local.lastSyncAt;
  }

  /**
   * Pushes the outbox (in order, `maxBatch` per request) and pulls until `has_more` is
   * false. One round runs at a time; a call made while one runs joins the next round,
   * which also carries the changes made after the running round started.
   */
  sync(): Promise<void> {
    this.assertStarted();
    if (this.stopped) return Promise.reject(new Error('SyncClient stopped'));
    if (this.tabs && !this.leads) return this.tabs.askLeader((this.opts.requestTimeoutMs ?? 30_000) * 2);
    if (!this.running) return this.startRound();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.startRound();
      });
    return this.queued;
  }

  /** Realtime (PROTOCOL 2.7): with `true`, pokes from `/sync/ws` trigger sync(), and local changes sync at once. */
  live(on: boolean): void {
    this.liveWanted = on && !this.stopped;
    if (!this.liveWanted) {
      this.failures = 0;
      this.clearResumeTimer();
      return this.closeLive();
    }
    this.assertStarted();
    // One socket per device: the leader tab's.
    if (this.liveConnection || !this.leads) return;
    const WebSocketCtor = this.opts.WebSocket ?? platform.WebSocket;
    if (!WebSocketCtor) throw new Error('live(true) needs a WebSocket: pass options.WebSocket (e.g. the ws package in Node 20)');
    this.liveConnection = new LiveConnection({
      url: `${this.opts.baseUrl.replace(/^http/, 'ws').replace(/\/$/, '')}/sync/ws`,
      WebSocket: WebSocketCtor,
      deviceId: this.opts.deviceId,
      getToken: async (ctx) => this.opts.getToken(ctx),
      retry: this.retry,
      random: this.opts.random ?? Math.random,
      pingIntervalMs: this.opts.livePingMs,
      onPoke: (position) => {
        const known = this.local.lastSyncAt;
        // After a reconnect `ready` may carry the position already known while this
        // device's own edits still wait: the server never pokes the device that commits.
        if (known === null || position > known) this.sync().catch(() => undefined);
        else this.resume();
      },
      onState: (state) => this.setLive(state),
      onError: (error) => this.events.emit('error', { kind: 'sync', error }),
    });
    this.liveConnection.start();
  }

  private closeLive(): void {
    this.liveConnection?.stop();
    this.liveConnection = null;
    this.setLive('off');
  }

  private get leads(): boolean {
    return !this.tabs || this.tabs.isLeader;
  }

  /** This tab now leads (another closed) or no longer does (its lease lapsed). */
  private async onLeadership(leader: boolean): Promise<void> {
    this.log('info', leader ? 'this tab leads: it syncs for the others' : 'another tab leads now');
    this.local.mayMerge = leader;
    if (!leader) {
      this.local.stopMerging();
      this.closeLive();
      return this.emitStatus();
    }
    // Another tab synced until now: start from what it stored.
    this.emitChanges(await this.local.refresh(true), 'server');
    if (this.stopped) return;
    if (this.liveWanted) this.live(true);
    const asked = this.tabs?.takeAsks() ?? [];
    if (asked.length > 0 || (this.liveWanted && this.local.outbox.length > 0)) {
      const round = this.sync();
      round.catch(() => undefined);
      for (const ask of asked) round.then(ask.resolve, ask.reject);
    }
  }

  private async onTabMessage(message: TabMessage): Promise<void> {
    switch (message.kind) {
      case 'outbox':
      case 'replica':
        // The leader only needs the outbox (it wrote the replica); a follower takes all.
        this.emitChanges(await this.local.refresh(!this.leads), message.kind === 'outbox' ? 'tab' : 'server');
        if (message.kind === 'outbox' && this.leads && this.liveConnection) this.sync().catch(() => undefined);
        return;
      case 'sync':
        if (this.leads) this.tabs?.serve(message.ask, () => this.sync());
        return;
      case 'synced':
        this.tabs?.answered(message.ask, message.error);
        return;
      case 'status':
        if (!this.leads) {
          this.leaderStatus = { state: message.state, live: message.live };
          this.emitStatus();
        }
        return;
      case 'bye':
        return;
    }
  }

  private emitChanges(before: Map<string, Entity | undefined>, origin: ChangeEvent['origin']): void {
    for (const [key, was] of before) {
      const entity = this.local.view(key);
      if (JSON.stringify(entity) === JSON.stringify(was)) continue;
      const [entity_type, entity_id] = key.split('\u0000');
      this.events.emit('change', { entity_type, entity_id, origin, entity });
    }
    this.emitStatus();
  }

  private startRound(): Promise<void> {
    const round: Promise<void> = this.runRound().finally(() => {
      if (this.running === round) this.running = null;
    });
    this.running = round;
    return round;
  }

  private async runRound(): Promise<void> {
    this.setState('syncing');
    try {
      // The changes present now are this round's; later ones go with the next round.
      let remaining = this.local.outbox.length;
      const sender = this.sender();
      this.limits.newRound();
      for (;;) {
        await this.local.settled();
        const batch = this.limits.take(this.local.outbox, remaining);
        const res = await this.push(sender, batch);
        if (!res) continue;
        await this.applyResponse(batch, res);
        remaining -= batch.length;
        if (!res.has_more && remaining <= 0) break;
      }
      this.failures = 0;
      this.clearResumeTimer();
      this.setState('idle');
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.failures += 1;
      this.log(this.failures > 1 ? 'info' : 'warn', 'sync round failed; the outbox is kept and resent', {
        error: error.message,
        failures: this.failures,
        pending: this.local.outbox.length,
      });
      this.scheduleResume((error as { retryAfterMs?: number }).retryAfterMs);
      this.setState(error instanceof StorageFullError ? 'blocked' : 'offline');
      if (!this.stopped) this.events.emit('error', { kind: 'sync', error, status: (error as { status?: number }).status });
      throw error;
    }
  }

  /**
   * One request; undefined when the server refused the batch as a whole and a smaller one
   * should go instead. A single change it refuses on its own comes back as a per-change
   * error on the answer of a pull (which also tells it from a refused envelope).
   */
  private async push(sender: DeltaSenderOptions, batch: OutgoingChange[]): Promise<DeltaResponse | undefined> {
    const request = (changes: OutgoingChange[]) => ({
      device_id: this.opts.deviceId,
      last_sync_at: this.local.lastSyncAt,
      changes,
      ...(this.opts.pageLimit ? { limit: this.opts.pageLimit } : {}),
    });
    this.local.markSent(batch);
    try {
      return await sendDelta(sender, request(batch));
    } catch (err) {
      const refusal = this.limits.refused(err, batch);
      if (refusal !== 'round')
        this.log('info', 'the server refused a batch: sending less', { changes: batch.length, status: (err as SyncHttpError).status });
      if (refusal === 'smaller') return undefined;
      if (refusal === 'round') throw err;
      const pulled = await sendDelta(sender, request([]));
      const { status, code, message } = err as SyncHttpError;
      const [{ entity_type, entity_id }] = batch;
      const error = { index: 0, entity_type, entity_id, code: code ?? (status === 413 ? 'payload_too_large' : 'bad_request'), message };
      return { ...pulled, errors: [error], error_count: 1, success: false };
    }
  }

  /** One response: stored atomically (replica, outbox, watermark), then events. */
  private async applyResponse(batch: OutgoingChange[], res: DeltaResponse): Promise<void> {
    const page = applyResponse(this.local.replica, batch, res, this.opts.createDefaults ?? CREATE_DEFAULTS);
    const affected = new Set([...page.entities.keys(), ...batch.map((c) => entityKey(c.entity_type, c.entity_id))]);
    if (res.resync_required) for (const key of this.local.replica.keys()) affected.add(key);
    const before = new Map([...affected].map((key) => [key, JSON.stringify(this.local.view(key))]));
    const failed = new Map(page.errors.map(({ error, change }) => [change, error.code]));
    const conflicted = new Map(page.conflicts.flatMap((c) => (c.change ? [[c.change, c.resolution] as const] : [])));
    const statuses = batch.map((c) =>
      failed.has(c)
        ? this.local.statusWrite([c], 'error', () => failed.get(c))
        : conflicted.has(c)
          ? this.local.statusWrite([c], 'conflict', () => conflicted.get(c))
          : this.local.statusWrite([c], 'applied'),
    );
    page.write.putChanges = statuses.flatMap((w) => w.putChanges ?? []);
    page.write.deleteChanges = statuses.flatMap((w) => w.deleteChanges ?? []);
    for (const { error, change } of page.errors)
      this.log('error', 'the server refused a change', { ...error, change_id: change.change_id });
    await this.local.applyPage(page, batch, res.resync_required, res.last_sync_at);
    // Each answered change has left the outbox, so each outcome is reported exactly once.
    this.tabs?.post({ kind: 'replica', from: this.tabs.id, keys: [...affected], resync: res.resync_required });
    for (const { error, change } of page.errors) this.events.emit('error', { kind: 'change', error, change });
    for (const conflict of page.conflicts) this.events.emit('conflict', conflict);
    for (const key of affected) {
      const entity = this.local.view(key);
      if (JSON.stringify(entity) === before.get(key)) continue;
      const [entity_type, entity_id] = key.split('\u0000');
      this.events.emit('change', { entity_type, entity_id, origin: 'server', entity });
    }
    this.emitStatus();
  }

  private async enqueue(action: ChangeAction, type: string, id: string, data?: EntityData): Promise<void> {
    this.assertStarted();
    if (this.stopped) throw new Error('SyncClient stopped');
    const versioned = (this.opts.versionedTypes ?? VERSIONED_TYPES).includes(type);
    const change: OutgoingChange = {
      change_id: newId(),
      entity_type: type,
      entity_id: id,
      action,
      // A copy: the caller may go on changing its object after the call.
      ...(action !== 'delete' ? { data: clone(data ?? {}) } : {}),
      ...(versioned ? { version: this.local.nextVersion(type, id) } : {}),
      client_timestamp: new Date().toISOString(),
    };
    checkChange(change);
    try {
      await this.local.append(change);
    } catch (err) {
      if (err instanceof StorageFullError) {
        this.log('error', 'storage is full: the edit was not stored', { entity_type: type, entity_id: id });
        this.setState('blocked');
      }
      throw err;
    }
    if (this.state === 'blocked') this.setState('idle');
    this.tabs?.post({ kind: 'outbox', from: this.tabs.id, keys: [entityKey(type, id)] });
    this.events.emit('change', { entity_type: type, entity_id: id, origin: 'local', entity: this.get(type, id) });
    this.emitStatus();
    if (this.liveConnection) this.sync().catch(() => undefined);
  }

  /**
   * Sends the outbox when it holds something: the server may be reachable again. Only
   * while the app wants it sent on its own: in live mode, or since a round it ran failed
   * (`live(false)` hands the timing back to the app, as the demo's offline switch does).
   */
  private resume(): void {
    if (!this.started || this.stopped || !this.leads || this.local.outbox.length === 0) return;
    if (!this.liveWanted && this.failures === 0) return;
    this.clearResumeTimer();
    for (const [wake, backoff] of [...this.wakers]) if (backoff) wake();
    this.sync().catch(() => undefined);
  }

  /**
   * After a failed round with changes waiting: try again after a capped, jittered backoff
   * (or the server's Retry-After), for as long as changes wait, so an edit never stays
   * queued until the app happens to call sync().
   */
  private scheduleResume(retryAfterMs?: number): void {
    if (this.stopped || this.local.outbox.length === 0) return;
    this.clearResumeTimer();
    const ms = retryAfterMs ?? backoffDelay(this.failures, { ...this.retry, maxAttempts: Infinity }, this.opts.random ?? Math.random);
    this.resumeTimer = platform.setTimeout(() => {
      this.resumeTimer = undefined;
      this.resume();
    }, ms);
  }

  private clearResumeTimer(): void {
    if (this.resumeTimer !== undefined) platform.clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
  }

  private sender(): DeltaSenderOptions {
    const fetchFn = this.opts.fetch ?? defaultFetch();
    if (!fetchFn) throw new Error('no fetch on this platform: pass options.fetch');
    return {
      url: `${this.opts.baseUrl.replace(/\/$/, '')}/sync/delta`,
      fetch: fetchFn,
      getToken: this.opts.getToken,
      retry: this.retry,
      timeoutMs: this.opts.requestTimeoutMs ?? 30_000,
      gzipThreshold: this.opts.gzipThreshold ?? GZIP_THRESHOLD,
      random: this.opts.random ?? Math.random,
      wait: (ms, asked) => this.wait(ms, !asked),
      onWait: () => this.setState('waiting'),
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
    if (this.stopped) throw new Error('SyncClient stopped');
    this.setState('syncing');
  }

  private setState(state: StatusEvent['state']): void {
    this.state = state;
    this.emitStatus();
  }

  private setLive(live: StatusEvent['live']): void {
    this.liveState = live;
    this.emitStatus();
  }

  private emitStatus(): void {
    const status = this.status();
    if (status.tab === 'leader') this.tabs?.post({ kind: 'status', from: this.tabs.id, state: status.state, live: status.live });
    this.events.emit('status', status);
  }

  private assertStarted(): void {
    if (!this.started) throw new Error('SyncClient: call start() first');
  }
}
