import { clone, overlay, predictedVersion } from './local-view.js';
import { AppliedPage } from './response-apply.js';
import { StorageWrite, SyncStorage } from './storage.js';
import { Entity, EntityData, entityKey, OutgoingChange, StoredEntity } from './types.js';

/**
 * The client's state in memory (replica, outbox, watermark), mirrored into its storage.
 * Every change goes to storage first and into memory after, except an outbox append,
 * which is visible at once and taken back if its write fails.
 */
export class LocalStore {
  readonly replica = new Map<string, StoredEntity>();
  outbox: OutgoingChange[] = [];
  lastSyncAt: string | null = null;
  private writes: Promise<unknown> = Promise.resolve();
  /** The frozen views handed out, by entityKey: one object while the entity is unchanged. */
  private readonly views = new Map<string, Entity | undefined>();

  constructor(
    private readonly storage: SyncStorage,
    private readonly defaults: Record<string, EntityData>,
  ) {}

  async load(): Promise<void> {
    const state = await this.storage.load();
    this.replica.clear();
    for (const e of state.entities) this.replica.set(entityKey(e.entity_type, e.entity_id), e);
    this.outbox = state.outbox;
    this.lastSyncAt = state.lastSyncAt;
    this.views.clear();
  }

  /** The version a new change of this entity is based on (see predictedVersion). */
  nextVersion(type: string, id: string): number {
    const key = entityKey(type, id);
    return predictedVersion(this.replica.get(key), this.pendingOf(key).length);
  }

  /** Appends to the outbox; resolves once storage holds it. */
  async append(change: OutgoingChange): Promise<void> {
    const key = entityKey(change.entity_type, change.entity_id);
    this.outbox.push(change);
    this.views.delete(key);
    try {
      await this.persist({ putOutbox: [change] });
    } catch (err) {
      this.outbox = this.outbox.filter((c) => c.change_id !== change.change_id);
      this.views.delete(key);
      throw err;
    }
  }

  /** Resolves when every write asked for so far has landed (or failed). */
  settled(): Promise<unknown> {
    return this.writes;
  }

  /** Stores a response's page atomically, then applies it in memory. */
  async applyPage(page: AppliedPage, answered: readonly OutgoingChange[], resync: boolean, lastSyncAt: string): Promise<void> {
    await this.persist(page.write);
    if (resync) {
      this.replica.clear();
      this.views.clear();
    }
    for (const [key, e] of page.entities) {
      if (e) this.replica.set(key, e);
      else this.replica.delete(key);
      this.views.delete(key);
    }
    for (const c of answered) this.views.delete(entityKey(c.entity_type, c.entity_id));
    const gone = new Set(answered.map((c) => c.change_id));
    this.outbox = this.outbox.filter((c) => !gone.has(c.change_id));
    this.lastSyncAt = lastSyncAt;
  }

  /**
   * The entity as callers see it: a deeply frozen copy, so a caller cannot change the
   * replica through it, and the same object until the entity changes, so UI code may
   * compare by reference.
   */
  view(key: string, pending?: readonly OutgoingChange[]): Entity | undefined {
    if (this.views.has(key)) return this.views.get(key);
    const mine = pending ?? this.pendingOf(key);
    const base = this.replica.get(key);
    const data = overlay(base, mine, this.defaults);
    const entity =
      data &&
      deepFreeze({ id: base?.entity_id ?? mine[0].entity_id, version: base?.version ?? 0, data: clone(data), pending: mine.length > 0 });
    this.views.set(key, entity);
    return entity;
  }

  list(type: string): Entity[] {
    const pendingByKey = new Map<string, OutgoingChange[]>();
    for (const c of this.outbox) {
      if (c.entity_type !== type) continue;
      const key = entityKey(type, c.entity_id);
      pendingByKey.set(key, [...(pendingByKey.get(key) ?? []), c]);
    }
    const keys = new Set(pendingByKey.keys());
    for (const e of this.replica.values()) if (e.entity_type === type) keys.add(entityKey(type, e.entity_id));
    return [...keys].flatMap((key) => this.view(key, pendingByKey.get(key) ?? []) ?? []);
  }

  pendingOf(key: string): OutgoingChange[] {
    return this.outbox.filter((c) => entityKey(c.entity_type, c.entity_id) === key);
  }

  /** Storage writes in call order: an outbox append never lands after the page that answered it. */
  private persist(write: StorageWrite): Promise<void> {
    const next = this.writes.then(() => this.storage.write(write));
    this.writes = next.catch(() => undefined);
    return next;
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const inner of Object.values(v)) deepFreeze(inner);
  }
  return v;
}
