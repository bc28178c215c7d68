import { clone, overlay, predictedVersion } from './local-view.js';
import { AppliedPage } from './response-apply.js';
import { StorageWrite, SyncStorage } from './storage.js';
import { ChangeStatus, Entity, EntityData, entityKey, LaneBacklog, LaneCursors, OutgoingChange, StoredEntity } from './types.js';

/**
 * The client's state in memory (replica, outbox, watermark), mirrored into its storage.
 * Every change goes to storage first and into memory after, except an outbox append,
 * which is visible at once and taken back if its write fails.
 */
/** How many change statuses are kept (the oldest go first). */
export const KEPT_STATUSES = 1000;

export class LocalStore {
  readonly replica = new Map<string, StoredEntity>();
  /** This device's latest changes' statuses, oldest first. */
  readonly statuses = new Map<string, ChangeStatus>();
  outbox: OutgoingChange[] = [];
  lastSyncAt: string | null = null;
  /** The lane cursors stored with `lastSyncAt` (PROTOCOL 2.9). */
  lanes: LaneCursors = {};
  /** The `backlog` of the last answer (not stored: the next answer brings it again). */
  backlog: LaneBacklog | null = null;
  private writes: Promise<unknown> = Promise.resolve();
  /**
   * Changes made since load() and not yet put in a request. Only these may be merged:
   * one already sent (or loaded, it may have been) keeps its bytes, so a resend is
   * recognised by the server (PROTOCOL 2.4).
   */
  private readonly unsent = new Set<string>();
  /** False in a tab that does not sync: the leader tab may send any stored change at any time. */
  mayMerge = true;
  /** Cancelled creates whose removal may not have landed yet: a refresh must not bring them back. */
  private readonly cancelled = new Set<string>();
  private readonly landing = new Set<string>();
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
    this.lanes = state.lanes ?? {};
    this.views.clear();
    this.unsent.clear();
    this.takeStatuses(state.changes);
  }

  /**
   * Sets these statuses in memory; returns the write that stores them and forgets the
   * oldest beyond KEPT_STATUSES (it goes with the write that caused them).
   */
  statusWrite(
    changes: readonly OutgoingChange[],
    status: ChangeStatus['status'],
    code?: (c: OutgoingChange) => string | undefined,
  ): StorageWrite {
    const at = new Date().toISOString();
    const putChanges = changes.map((c): ChangeStatus => {
      const known = code?.(c);
      const st: ChangeStatus = { change_id: c.change_id, entity_type: c.entity_type, entity_id: c.entity_id, action: c.action, status, at };
      return known === undefined ? st : { ...st, code: known };
    });
    for (const st of putChanges) {
      this.statuses.delete(st.change_id);
      this.statuses.set(st.change_id, st);
    }
    const deleteChanges = [...this.statuses.keys()].slice(0, Math.max(0, this.statuses.size - KEPT_STATUSES));
    for (const id of deleteChanges) this.statuses.delete(id);
    return { putChanges, deleteChanges };
  }

  private takeStatuses(stored: ChangeStatus[] | undefined): void {
    if (!stored) return;
    this.statuses.clear();
    for (const st of [...stored].sort((a, b) => a.at.localeCompare(b.at))) this.statuses.set(st.change_id, st);
  }

  /** The version a new change of this entity is based on (see predictedVersion). */
  nextVersion(type: string, id: string): number {
    const key = entityKey(type, id);
    return predictedVersion(this.replica.get(key), this.pendingOf(key).length);
  }

  /**
   * Appends to the outbox, or merges into the entity's last change when that one was
   * never sent (see coalesce); resolves once storage holds it, with the id of the change
   * that carries it (null: it cancelled a create never sent, nothing goes to the server).
   */
  async append(change: OutgoingChange): Promise<string | null> {
    const key = entityKey(change.entity_type, change.entity_id);
    const before = this.outbox;
    const pending = this.pendingOf(key);
    const last = pending[pending.length - 1];
    const merged =
      last && this.unsent.has(last.change_id) ? coalesce(last, change, pending.length === 1 && !this.replica.has(key)) : undefined;
    let write: StorageWrite;
    if (merged === null) {
      this.cancelled.add(last.change_id);
      this.outbox = before.filter((c) => c !== last);
      this.statuses.delete(last.change_id);
      write = { deleteOutbox: [last.change_id], deleteChanges: [last.change_id] };
    } else if (merged) {
      this.outbox = before.map((c) => (c === last ? merged : c));
      write = { putOutbox: [merged], ...this.statusWrite([merged], 'pending') };
    } else {
      this.outbox = [...before, change];
      if (this.mayMerge) this.unsent.add(change.change_id);
      write = { putOutbox: [change], ...this.statusWrite([change], 'pending') };
    }
    this.views.delete(key);
    const id = (merged ?? change).change_id;
    this.landing.add(id);
    try {
      await this.persist(write);
    } catch (err) {
      this.outbox = before;
      this.views.delete(key);
      throw err;
    } finally {
      this.landing.delete(id);
    }
    return merged === null ? null : id;
  }

  /**
   * Takes what another tab stored: the outbox (the leader, told of a follower's edit) or
   * everything (a follower, told of any write). This tab's own changes whose writes have
   * not landed yet stay, in their newest form. Returns the entities whose view may have
   * changed, with the view each had before.
   */
  async refresh(replicaToo: boolean): Promise<Map<string, Entity | undefined>> {
    // In the write queue: no page of this tab lands between the read and the merge below.
    const state = await this.exclusive(async () =>
      replicaToo ? this.storage.load() : { outbox: await (this.storage.loadOutbox?.() ?? this.storage.load().then((st) => st.outbox)) },
    );
    const mine = new Map(this.outbox.map((c) => [c.change_id, c]));
    const storedIds = new Set(state.outbox.map((c) => c.change_id));
    // unsent: this tab's own changes, which only it rewrites; landing: written, not yet stored.
    const outbox = [
      ...state.outbox
        .filter((c) => !this.cancelled.has(c.change_id))
        .map((c) => (this.unsent.has(c.change_id) ? mine.get(c.change_id)! : c)),
      ...this.outbox.filter((c) => !storedIds.has(c.change_id) && this.landing.has(c.change_id)),
    ];
    const touched = new Set<string>();
    const sig = (list: OutgoingChange[]) => new Map(list.map((c) => [c.change_id, JSON.stringify(c)]));
    const [was, now] = [sig(this.outbox), sig(outbox)];
    for (const c of [...this.outbox, ...outbox])
      if (was.get(c.change_id) !== now.get(c.change_id)) touched.add(entityKey(c.entity_type, c.entity_id));
    const replica = 'entities' in state ? new Map(state.entities.map((e) => [entityKey(e.entity_type, e.entity_id), e])) : undefined;
    for (const key of replica ? new Set([...this.replica.keys(), ...replica.keys()]) : []) {
      if (JSON.stringify(this.replica.get(key)) !== JSON.stringify(replica!.get(key))) touched.add(key);
    }
    const before = new Map([...touched].map((key) => [key, this.view(key)]));
    this.outbox = outbox;
    if (replica && 'entities' in state) {
      this.replica.clear();
      for (const [key, e] of replica) this.replica.set(key, e);
      this.lastSyncAt = state.lastSyncAt;
      this.lanes = state.lanes ?? {};
      this.takeStatuses(state.changes);
    }
    for (const key of touched) this.views.delete(key);
    return before;
  }

  /** This tab no longer sends (another leads): none of its changes may be merged into from now. */
  stopMerging(): void {
    this.mayMerge = false;
    this.unsent.clear();
  }

  /** These changes go into a request now: from here on they are never rewritten. */
  markSent(changes: readonly OutgoingChange[]): void {
    for (const c of changes) this.unsent.delete(c.change_id);
    // Only for changes(): not awaited, nothing depends on it having landed.
    if (changes.length > 0) this.persist(this.statusWrite(changes, 'sent')).catch(() => undefined);
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
    if (page.write.lanes) this.lanes = page.write.lanes;
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
    return this.exclusive(() => this.storage.write(write));
  }

  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const next = this.writes.then(step);
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

/**
 * `next` merged into `last`, the entity's latest change, never sent: an update folds into
 * a create or an update (same change_id and base version, the newer field values and
 * time), and a delete cancels a create of an id the server never had (null: send nothing).
 * Undefined when they must stay two changes.
 */
function coalesce(last: OutgoingChange, next: OutgoingChange, onlyCreate: boolean): OutgoingChange | null | undefined {
  if (next.action === 'update' && last.action !== 'delete') {
    return { ...last, data: { ...last.data, ...next.data }, client_timestamp: next.client_timestamp };
  }
  if (next.action === 'delete' && last.action === 'create' && onlyCreate) return null;
  return undefined;
}
