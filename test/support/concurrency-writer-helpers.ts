import type { DeltaResponseDto as DeltaBody } from '../../apps/api/src/sync/dto/delta-response.dto';
import { iso, key, Rng, WireChange } from './concurrency-helpers';

/**
 * The writers of the concurrency suites (sync-concurrency*.e2e-spec.ts): devices that push
 * random changes with correct or stale versions, and learn the versions from the answers.
 */

export interface Writer {
  deviceId: string;
  token: string;
  watermark: string | null;
  /** Highest version this device has heard of, per entity. */
  versions: Map<string, number>;
  /** Entities this device knows to be deleted. */
  deleted: Set<string>;
  ownTasks: string[];
  ownEvents: string[];
  seq: number;
}

export const SHARED_TASKS = Array.from({ length: 10 }, (_, i) => `T${i}`);
export const SHARED_EVENTS = Array.from({ length: 6 }, (_, i) => `E${i}`);
export const SHARED_CREATES = Array.from({ length: 5 }, (_, i) => `S${i}`);
export const USERS = ['alice', 'bob', 'carol'];

/** The creates of the shared tasks and events every writer knows from the start. */
export function sharedSeedChanges(clientTimestamp: string): WireChange[] {
  return [
    ...SHARED_TASKS.map((id) => ({
      entity_type: 'task',
      entity_id: id,
      action: 'create' as const,
      data: { title: `task ${id}`, points: 5 },
      client_timestamp: clientTimestamp,
    })),
    ...SHARED_EVENTS.map((id) => ({
      entity_type: 'event',
      entity_id: id,
      action: 'create' as const,
      data: { title: `event ${id}`, start: '2030-01-01T09:00:00.000Z', end: '2030-01-01T18:00:00.000Z' },
      client_timestamp: clientTimestamp,
    })),
  ];
}

export function taskPatch(rng: Rng, nowMs: number): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (rng.chance(0.6)) patch.title = `title-${rng.int(0, 999)}`;
  if (rng.chance(0.3)) patch.desc = rng.chance(0.2) ? null : `desc-${rng.int(0, 999)}`;
  if (rng.chance(0.3)) patch.points = rng.int(0, 50);
  if (rng.chance(0.2)) patch.assignees = USERS.filter(() => rng.chance(0.5));
  if (rng.chance(0.3)) {
    patch.status = rng.pick(['open', 'in_progress', 'done']);
    if (patch.status === 'done' && rng.chance(0.7)) patch.completedAt = iso(nowMs - rng.int(0, 3_600_000));
  }
  if (Object.keys(patch).length === 0) patch.title = `title-${rng.int(0, 999)}`;
  return patch;
}

export function eventPatch(rng: Rng): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (rng.chance(0.6)) patch.title = `event-${rng.int(0, 999)}`;
  if (rng.chance(0.4)) patch.description = `about-${rng.int(0, 999)}`;
  if (rng.chance(0.3)) patch.attendees = USERS.filter(() => rng.chance(0.5));
  if (Object.keys(patch).length === 0) patch.title = `event-${rng.int(0, 999)}`;
  return patch;
}

/** 3..6 changes of one request. */
export function writerChanges(w: Writer, rng: Rng): WireChange[] {
  const now = Date.now();
  // Device clocks disagree: timestamps within +-90 s of now (inside the allowed skew).
  const ts = () => iso(now + rng.int(-90_000, 90_000));
  const version = (k: string) => {
    const v = w.versions.get(k) ?? 1;
    return rng.chance(0.2) ? Math.max(0, v - rng.int(1, 2)) : v; // sometimes deliberately stale
  };
  // The random draws in this order: version, patch, timestamp.
  const taskUpdate = (id: string): WireChange => ({
    entity_type: 'task',
    entity_id: id,
    action: 'update',
    version: version(key('task', id)),
    data: taskPatch(rng, now),
    client_timestamp: ts(),
  });
  const changes: WireChange[] = [];
  const n = rng.int(3, 6);
  for (let i = 0; i < n; i++) {
    const roll = rng.next();
    if (roll < 0.35) {
      const id = rng.pick(SHARED_TASKS);
      changes.push(taskUpdate(id));
    } else if (roll < 0.5) {
      const id = rng.pick(SHARED_EVENTS);
      changes.push({ entity_type: 'event', entity_id: id, action: 'update', data: eventPatch(rng), client_timestamp: ts() });
    } else if (roll < 0.6) {
      const id = `${w.deviceId}-t${w.seq++}`;
      w.ownTasks.push(id);
      changes.push({
        entity_type: 'task',
        entity_id: id,
        action: 'create',
        version: 0,
        data: { title: `own ${id}`, points: rng.int(0, 9) },
        client_timestamp: ts(),
      });
    } else if (roll < 0.7 && w.ownTasks.some((id) => w.versions.has(key('task', id)))) {
      // Only tasks whose create this device saw answered (a parallel request may still be in flight).
      const id = rng.pick(w.ownTasks.filter((x) => w.versions.has(key('task', x))));
      changes.push(taskUpdate(id));
    } else if (roll < 0.8) {
      // Several devices create the same id concurrently: later creates become updates.
      const id = rng.pick(SHARED_CREATES);
      changes.push({
        entity_type: 'task',
        entity_id: id,
        action: 'create',
        version: w.versions.get(key('task', id)) ?? 0,
        data: { title: `shared ${id} by ${w.deviceId}` },
        client_timestamp: ts(),
      });
    } else if (roll < 0.87) {
      const id = `${w.deviceId}-e${w.seq++}`;
      w.ownEvents.push(id);
      changes.push({
        entity_type: 'event',
        entity_id: id,
        action: 'create',
        data: { title: `own ${id}`, start: '2030-01-01T10:00:00.000Z', end: '2030-01-01T11:00:00.000Z' },
        client_timestamp: ts(),
      });
    } else if (roll < 0.93) {
      const id = rng.pick(['T8', 'T9', 'S4', ...w.ownTasks]);
      changes.push({ entity_type: 'task', entity_id: id, action: 'delete', version: version(key('task', id)), client_timestamp: ts() });
    } else {
      const id = rng.pick(['E5', ...w.ownEvents]);
      changes.push({ entity_type: 'event', entity_id: id, action: 'delete', client_timestamp: ts() });
    }
  }
  return changes;
}

export function learn(w: Writer, body: DeltaBody): void {
  const bump = (k: string, v: number | null | undefined) => {
    if (typeof v === 'number' && v > (w.versions.get(k) ?? 0)) w.versions.set(k, v);
  };
  for (const a of body.applied) bump(key(a.entity_type, a.entity_id), a.version);
  for (const c of body.conflicts) {
    bump(key(c.entity_type, c.entity_id), c.server_version);
    if (c.server_data === null) w.deleted.add(key(c.entity_type, c.entity_id));
  }
  for (const s of body.server_changes) {
    bump(key(s.entity_type, s.entity_id), s.version);
    if (s.action === 'delete') w.deleted.add(key(s.entity_type, s.entity_id));
  }
  if (!body.has_more && (w.watermark === null || body.last_sync_at > w.watermark)) w.watermark = body.last_sync_at;
}
