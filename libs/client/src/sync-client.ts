import { DEFAULT_RETRY, RetryPolicy } from './backoff.js';
import { BatchLimits, DEFAULT_MAX_BODY } from './batch-limits.js';
import { BatchPusher } from './batch-push.js';
import { ClientLifecycle } from './client-lifecycle.js';
import { clientLog } from './client-log.js';
import { ClientStatus } from './client-status.js';
import { Emitter } from './emitter.js';
import { awaitOutcome } from './change-outcome.js';
import { EntityTypeName, EntityTypes } from './entity-types.js';
import { LiveMode } from './live-mode.js';
import { LiveQueries, LiveQuery } from './live-query.js';
import { LocalStore } from './local-store.js';
import { clone, CREATE_DEFAULTS } from './local-view.js';
import { MemoryStorage } from './memory-storage.js';
import { OutboxQueue } from './outbox-queue.js';
import { PageApplier } from './page-apply.js';
import { QueryOptions } from './query-engine.js';
import { platform } from './platform.js';
import { fetchDeviceHistory, fetchExplain } from './service-endpoints.js';
import { SyncClientOptions } from './sync-client.options.js';
import { SyncRounds } from './sync-rounds.js';
import { SyncStorage } from './storage.js';
import { canShareTabs } from './tab-coordinator.js';
import { TabSync } from './tab-sync.js';
import {
  ChangeAction,
  ChangeStatus,
  DeviceHistoryEntry,
  Explanation,
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
 *
 * This class is the public face; the work is done by its parts: OutboxQueue (edits),
 * SyncRounds (rounds and retries, with BatchPusher and PageApplier), LiveMode (the
 * socket), TabSync (tabs sharing one storage) and ClientStatus (events).
 */
export class SyncClient {
  private readonly events: Emitter<SyncClientEvents>;
  private readonly storage: SyncStorage;
  private readonly local: LocalStore;
  private readonly life = new ClientLifecycle();
  private readonly statusEvents: ClientStatus;
  private readonly outbox: OutboxQueue;
  private readonly rounds: SyncRounds;
  private readonly liveMode: LiveMode;
  private readonly tabSync: TabSync;
  private readonly queries: LiveQueries;
  private readonly onOnline = () => this.rounds.resume();

  constructor(private readonly opts: SyncClientOptions) {
    const log = clientLog(opts.logger, opts.logLevel);
    this.events = new Emitter<SyncClientEvents>((event, error) => log('error', `a '${String(event)}' listener threw`, { error }));
    this.storage = opts.storage ?? new MemoryStorage();
    this.local = new LocalStore(this.storage, opts.createDefaults ?? CREATE_DEFAULTS);
    const rows = (type: string) => (this.life.started ? this.local.list(type) : []);
    this.queries = new LiveQueries(rows, (error) => log('error', 'a query listener threw', { error }));
    this.statusEvents = new ClientStatus(this.life, this.local, this.events, this.queries);
    const { life, local, events, statusEvents: status } = this;
    const retry: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
    const limits = new BatchLimits(opts.maxBatch ?? 500, opts.maxBodyBytes ?? DEFAULT_MAX_BODY);
    const pusher = new BatchPusher(opts, local, limits, log);
    const pages = new PageApplier(opts, life, local, status, events, log);
    const sync = () => this.sync();
    this.rounds = new SyncRounds(opts, { life, local, limits, retry, pusher, pages, status, events, log });
    this.liveMode = new LiveMode(opts, life, local, retry, this.rounds, status, events, sync);
    this.outbox = new OutboxQueue(opts, life, local, this.liveMode, status, events, log, sync);
    this.tabSync = new TabSync(life, local, status, this.liveMode, log, sync);
  }

  /** Listens to `change`, `conflict`, `error` or `status` (see SyncClientEvents); returns the unsubscribe. */
  on<K extends keyof SyncClientEvents>(event: K, listener: (e: SyncClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Removes a listener added with `on`. */
  off<K extends keyof SyncClientEvents>(event: K, listener: (e: SyncClientEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /** Loads the replica, the outbox and the watermark from storage. */
  async start(): Promise<void> {
    if (this.life.started) return;
    await this.local.load();
    this.life.started = true;
    this.queries.changedAll();
    platform.addEventListener?.('online', this.onOnline);
    const shared = this.opts.tabs === false ? undefined : this.storage.shared;
    if (shared && canShareTabs()) await this.tabSync.start(shared, this.storage);
    this.statusEvents.emit();
  }

  /** Ends live mode and any waiting round, lets storage writes land; the client is then done. */
  async stop(): Promise<void> {
    this.life.stopped = true;
    this.rounds.clearResumeTimer();
    platform.removeEventListener?.('online', this.onOnline);
    this.live(false);
    await Promise.allSettled([this.rounds.stop(), this.local.settled()]);
    // After the last write: the next tab to lead starts from everything this one stored.
    await this.life.tabs?.stop();
    await this.storage.close?.();
  }

  /** Queues a create; resolves once the outbox holding it is stored. Refused for an id that exists here. */
  create(type: string, id: string, data: EntityData): Promise<void> {
    return this.queue('create', type, id, data).then(() => undefined);
  }

  /** Queues a partial update of an entity this client has. */
  update(type: string, id: string, patch: EntityData): Promise<void> {
    return this.queue('update', type, id, patch).then(() => undefined);
  }

  /** Queues a delete; resolves once the outbox holding it is stored. */
  delete(type: string, id: string): Promise<void> {
    return this.queue('delete', type, id).then(() => undefined);
  }

  /** Dismisses a conflict inbox entry, keeping the server's values (PROTOCOL 2.8, 2.12 `kept_server`). */
  dismiss(conflictId: string): Promise<void> {
    return this.queue('delete', 'conflict', conflictId, { decision: 'kept_server' }).then(() => undefined);
  }

  /**
   * Writes a conflict inbox entry's lost values back onto its entity and dismisses the entry
   * as `restored` (PROTOCOL 2.12): both are queued together, so they go in one request.
   */
  async restore(conflictId: string): Promise<void> {
    const entry = this.get('conflict', conflictId)?.data as { entityType?: string; entityId?: string; rejected?: EntityData } | undefined;
    if (!entry?.entityType || !entry.entityId || !entry.rejected)
      throw new Error(`no conflict inbox entry ${conflictId} with values to restore`);
    await this.queue('update', entry.entityType, entry.entityId, entry.rejected);
    await this.queue('delete', 'conflict', conflictId, { decision: 'restored' });
  }

  /**
   * A create, update or delete that resolves with its outcome: the change's final status
   * (`applied`, `conflict` or `error`, see `changes()`) once a sync has answered it, or null
   * when there was nothing to send (a delete of a create never sent). Waits while offline.
   */
  async mutate<K extends EntityTypeName>(
    action: ChangeAction,
    type: K,
    id: string,
    data?: Partial<EntityTypes[K]>,
  ): Promise<ChangeStatus | null> {
    return awaitOutcome(this.local, this.events, await this.queue(action, type, id, data as EntityData | undefined));
  }

  private queue(action: ChangeAction, type: string, id: string, data?: EntityData): Promise<string | null> {
    if (action === 'create' && this.get(type, id)) return Promise.reject(new Error(`${type} ${id} already exists`));
    if (action === 'update' && !this.get(type, id)) return Promise.reject(new Error(`${type} ${id} does not exist here`));
    return this.outbox.add(action, type, id, data);
  }

  /**
   * A live query of one entity type over what `get` shows (PROTOCOL 2.2 types): `where`
   * (equality, `in`, ranges), `orderBy` (one or two fields, then id), `limit`, `after`
   * (cursor). May be made before `start()`: it is empty until the replica is loaded.
   */
  query<K extends EntityTypeName>(type: K, options: QueryOptions<EntityTypes[K]> = {}): LiveQuery<EntityTypes[K]> {
    return this.queries.create(type, options);
  }

  /** The entity as the server last confirmed it with this client's pending changes applied. */
  get(type: string, id: string): Entity | undefined {
    this.life.assertStarted();
    return this.local.view(entityKey(type, id));
  }

  /** Every entity of the type as `get` shows it, in no particular order (a new array each call: see `query`). */
  list(type: string): Entity[] {
    this.life.assertStarted();
    return this.local.list(type);
  }

  /** Changes waiting for the server, oldest first. */
  pending(): OutgoingChange[] {
    return this.local.outbox.map((c) => clone(c));
  }

  /** What the last `status` event said. */
  status(): StatusEvent {
    return this.statusEvents.current();
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
  deviceHistory(limit = 50): Promise<DeviceHistoryEntry[]> {
    return fetchDeviceHistory(this.opts, limit);
  }

  /**
   * Whether this device has `entityType`/`entityId`'s latest state on the server, and why not
   * (PROTOCOL 2.11): `delivered`, `changed_after_last_sync`, `device_never_synced`,
   * `never_existed` or `purged`. For support screens and debugging.
   */
  explain(entityType: string, entityId: string): Promise<Explanation> {
    return fetchExplain(this.opts, entityType, entityId);
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
    this.life.assertStarted();
    if (this.life.stopped) return Promise.reject(new Error('SyncClient stopped'));
    const { tabs } = this.life;
    if (tabs && !this.life.leads) return tabs.askLeader((this.opts.requestTimeoutMs ?? 30_000) * 2);
    return this.rounds.run();
  }

  /** Realtime (PROTOCOL 2.7): with `true`, pokes from `/sync/ws` trigger sync(), and local changes sync at once. */
  live(on: boolean): void {
    this.liveMode.set(on);
  }
}
