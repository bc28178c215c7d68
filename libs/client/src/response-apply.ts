import { applyChange, CREATE_DEFAULTS } from './local-view.js';
import { StorageWrite } from './storage.js';
import { ChangeError, ConflictEvent, DeltaResponse, EntityData, entityKey, OutgoingChange, StoredEntity } from './types.js';

export interface AppliedPage {
  /** The replica's new entries (null = deleted), by entityKey. */
  entities: Map<string, StoredEntity | null>;
  /** The one atomic storage write for this response. */
  write: StorageWrite;
  conflicts: ConflictEvent[];
  errors: { error: ChangeError; change: OutgoingChange }[];
}

/**
 * What one response does to the replica: the outcomes of the pushed changes, then the
 * pulled page, then the watermark, as one storage write. Pure.
 *
 * The outcome of the pushed changes of one entity: every `data` in `applied` and every
 * `server_data` in `conflicts` is the entity's state after the whole request, so any of
 * them is the new state. When none carries state, every change of it was applied as sent
 * on the server's current state: the new state is the replica's with those changes
 * applied, which is why the server may leave the entity out of `server_changes`.
 */
export function applyResponse(
  replica: ReadonlyMap<string, StoredEntity>,
  pushed: readonly OutgoingChange[],
  res: DeltaResponse,
  defaults: Record<string, EntityData> = CREATE_DEFAULTS,
): AppliedPage {
  const errorByIndex = new Map(res.errors.map((e) => [e.index, e]));
  const errors = res.errors.flatMap((error) => (pushed[error.index] ? [{ error, change: pushed[error.index] }] : []));
  const byKey = new Map<string, OutgoingChange[]>();
  pushed.forEach((c, i) => {
    if (errorByIndex.has(i)) return;
    const key = entityKey(c.entity_type, c.entity_id);
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
  });

  const entities = new Map<string, StoredEntity | null>();
  for (const [key, changes] of byKey) {
    const outcome = outcomeState(replica.get(key), changes, res, defaults);
    if (outcome !== undefined) entities.set(key, outcome);
  }

  // The first page of a resync replaces the replica; entities this request wrote keep
  // the state computed above from the old replica (the server may leave them out).
  const current = (key: string) => (entities.has(key) ? entities.get(key) : res.resync_required ? undefined : replica.get(key));
  for (const sc of res.server_changes) {
    const key = entityKey(sc.entity_type, sc.entity_id);
    if (sc.action === 'delete' || sc.data === null) {
      entities.set(key, null);
      continue;
    }
    const known = current(key);
    if (known && known.version > sc.version) continue;
    // PROTOCOL 2.10: a patch holds only the fields written since the device's cursor; the
    // server sends one only for an entity the device holds, so the rest is in the replica.
    const data = sc.patch ? { ...(known?.data ?? {}), ...sc.data } : sc.data;
    entities.set(key, { entity_type: sc.entity_type, entity_id: sc.entity_id, version: sc.version, data });
  }

  const write: StorageWrite = {
    clearEntities: res.resync_required || undefined,
    deleteEntities: [],
    putEntities: [],
    deleteOutbox: pushed.map((c) => c.change_id),
    lastSyncAt: res.last_sync_at,
    lanes: res.lanes ?? {},
  };
  for (const [key, e] of entities) {
    if (e) write.putEntities!.push(e);
    else write.deleteEntities!.push(key.split('\u0000') as [string, string]);
  }
  const conflicts = res.conflicts.map((c): ConflictEvent => {
    const change = byKey.get(entityKey(c.entity_type, c.entity_id))?.find((ch) => (ch.version ?? null) === c.client_version);
    return change ? { ...c, change } : { ...c };
  });
  return { entities, write, conflicts, errors };
}

/** The entity after the request (null = deleted), or undefined to keep the replica's (an older replayed outcome). */
function outcomeState(
  base: StoredEntity | undefined,
  changes: OutgoingChange[],
  res: DeltaResponse,
  defaults: Record<string, EntityData>,
): StoredEntity | null | undefined {
  const { entity_type, entity_id } = changes[0];
  const mine = (e: { entity_type: string; entity_id: string }) => e.entity_type === entity_type && e.entity_id === entity_id;
  const applied = res.applied.filter(mine);
  const conflicts = res.conflicts.filter(mine);
  const versions = [...applied.map((a) => a.version), ...conflicts.map((c) => c.server_version ?? 0)];
  if (versions.length === 0) return undefined;
  const version = Math.max(...versions);
  const withState = applied.find((a) => a.data !== undefined);
  const data = withState
    ? withState.data
    : conflicts.length > 0
      ? conflicts[0].server_data
      : changes.reduce<EntityData | undefined>((d, c) => applyChange(d, c, defaults), base?.data);
  if (!data || version === 0) return null;
  if (base && base.version >= version) return undefined;
  return { entity_type, entity_id, version, data };
}
