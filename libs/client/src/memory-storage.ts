import { StorageWrite, StoredState, SyncStorage } from './storage.js';
import { clone } from './local-view.js';
import { ChangeStatus, entityKey, LaneCursors, OutgoingChange, StoredEntity } from './types.js';

/**
 * Keeps everything in memory: the default storage, and the one for tests and servers. It
 * outlives the SyncClient that used it, so a new client given the same instance resumes
 * where the old one stopped (as after an app restart). Values are copied in and out.
 */
export class MemoryStorage implements SyncStorage {
  private readonly entities = new Map<string, StoredEntity>();
  private outbox: OutgoingChange[] = [];
  private lastSyncAt: string | null = null;
  private lanes: LaneCursors = {};
  private readonly changes = new Map<string, ChangeStatus>();

  async load(): Promise<StoredState> {
    return clone({
      entities: [...this.entities.values()],
      outbox: this.outbox,
      lastSyncAt: this.lastSyncAt,
      lanes: this.lanes,
      changes: [...this.changes.values()],
    });
  }

  async write(w: StorageWrite): Promise<void> {
    const c = clone(w);
    if (c.clearEntities) this.entities.clear();
    for (const [type, id] of c.deleteEntities ?? []) this.entities.delete(entityKey(type, id));
    for (const e of c.putEntities ?? []) this.entities.set(entityKey(e.entity_type, e.entity_id), e);
    if (c.deleteOutbox?.length) {
      const gone = new Set(c.deleteOutbox);
      this.outbox = this.outbox.filter((ch) => !gone.has(ch.change_id));
    }
    for (const ch of c.putOutbox ?? []) {
      const at = this.outbox.findIndex((o) => o.change_id === ch.change_id);
      if (at >= 0) this.outbox[at] = ch;
      else this.outbox.push(ch);
    }
    if (w.lastSyncAt !== undefined) this.lastSyncAt = w.lastSyncAt;
    if (w.lanes !== undefined) this.lanes = w.lanes;
    for (const id of c.deleteChanges ?? []) this.changes.delete(id);
    for (const st of c.putChanges ?? []) this.changes.set(st.change_id, st);
  }
}
