import { checkChange } from './change-check.js';
import { ClientLifecycle } from './client-lifecycle.js';
import { Log } from './client-log.js';
import { ClientStatus } from './client-status.js';
import { Emitter } from './emitter.js';
import { LiveMode } from './live-mode.js';
import { LocalStore } from './local-store.js';
import { clone, VERSIONED_TYPES } from './local-view.js';
import { newId } from './platform.js';
import { StorageFullError } from './storage.js';
import { SyncClientOptions } from './sync-client.options.js';
import { ChangeAction, EntityData, entityKey, OutgoingChange, SyncClientEvents } from './types.js';

/** Turns create, update and delete into outbox changes, stored before the call resolves. */
export class OutboxQueue {
  constructor(
    private readonly opts: Pick<SyncClientOptions, 'versionedTypes'>,
    private readonly life: ClientLifecycle,
    private readonly local: LocalStore,
    private readonly liveMode: LiveMode,
    private readonly status: ClientStatus,
    private readonly events: Emitter<SyncClientEvents>,
    private readonly log: Log,
    /** The client's sync(). */
    private readonly sync: () => Promise<void>,
  ) {}

  /**
   * Stores the change, tells other tabs and the listeners; in live mode a round starts at
   * once. Resolves with the id of the outbox change that carries it (null: nothing to send).
   */
  async add(action: ChangeAction, type: string, id: string, data?: EntityData): Promise<string | null> {
    this.life.assertStarted();
    if (this.life.stopped) throw new Error('SyncClient stopped');
    const versioned = (this.opts.versionedTypes ?? VERSIONED_TYPES).includes(type);
    const change: OutgoingChange = {
      change_id: newId(),
      entity_type: type,
      entity_id: id,
      action,
      // A copy: the caller may go on changing its object after the call.
      // A delete carries data only when given (PROTOCOL 2.12: an inbox dismissal's decision).
      ...(action !== 'delete' || data !== undefined ? { data: clone(data ?? {}) } : {}),
      ...(versioned ? { version: this.local.nextVersion(type, id) } : {}),
      client_timestamp: new Date().toISOString(),
    };
    checkChange(change);
    let carrier: string | null;
    try {
      carrier = await this.local.append(change);
    } catch (err) {
      if (err instanceof StorageFullError) {
        this.log('error', 'storage is full: the edit was not stored', { entity_type: type, entity_id: id });
        this.status.setState('blocked');
      }
      throw err;
    }
    if (this.status.state === 'blocked') this.status.setState('idle');
    const key = entityKey(type, id);
    const { tabs } = this.life;
    tabs?.post({ kind: 'outbox', from: tabs.id, keys: [key] });
    this.events.emit('change', { entity_type: type, entity_id: id, origin: 'local', entity: this.local.view(key) });
    this.status.queriesChanged([key]);
    this.status.emit();
    if (this.liveMode.connected) this.sync().catch(() => undefined);
    return carrier;
  }
}
