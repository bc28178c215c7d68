import fc from 'fast-check';
import type { DeltaResponseDto as DeltaBody } from '../../apps/api/src/sync/dto/delta-response.dto';
import type { SyncChangeInput } from '../../apps/api/src/sync/dto/delta-request';
import { LiveRow } from './db-state';
import { TestApp } from './test-app';

/**
 * The model of test/sync/sync-convergence.e2e-spec.ts: simulated devices (a replica and a
 * queue of offline changes, a client that follows PROTOCOL.md only) and the fast-check
 * arbitraries of the scenarios (edits and syncs). Nothing here starts an app.
 */

/** What the runs went through, to see that the interesting paths are hit. */
export const stats: Record<string, number> = {};
const count = (what: string, n = 1) => (stats[what] = (stats[what] ?? 0) + n);

// ---------------------------------------------------------------------------------------
// Wire

type EntityType = 'task' | 'event';
type WireChange = SyncChangeInput & { entity_type: EntityType };

async function sync(t: TestApp, token: string, body: Record<string, unknown>): Promise<DeltaBody> {
  const res = await fetch(`${t.baseUrl}/sync/delta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /sync/delta -> ${res.status}: ${text}\nrequest: ${JSON.stringify(body)}`);
  return JSON.parse(text) as DeltaBody;
}

// Defaults PROTOCOL documents (2.2): a create stores them for the fields it leaves out.
const DEFAULTS: Record<EntityType, Record<string, unknown>> = {
  task: { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null },
  event: { description: null, end: null, attendees: [] },
};

const key = (type: string, id: string) => `${type}:${id}`;

type Row = LiveRow;
type Replica = Map<string, Row>;

export const snapshot = (r: Replica) => Object.fromEntries([...r].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
export const onlyTasksAndEvents = (r: Replica): Replica => new Map([...r].filter(([k]) => k.startsWith('task:') || k.startsWith('event:')));

// ---------------------------------------------------------------------------------------
// The simulated device

export class Device {
  readonly replica: Replica = new Map();
  pending: WireChange[] = [];
  watermark: string | null = null;
  /** Ids this device deleted or saw deleted: it never creates them again (ids are never reused). */
  readonly gone = new Set<string>();
  readonly log: string[] = [];

  constructor(
    readonly name: string,
    readonly token: string,
  ) {}

  /** Whether the device currently shows the entity (its replica plus its own offline changes). */
  private shows(k: string): boolean {
    let shown = this.replica.has(k);
    for (const c of this.pending) {
      if (key(c.entity_type, c.entity_id) !== k) continue;
      shown = c.action !== 'delete';
    }
    return shown;
  }

  edit(e: Edit, baseMs: number): void {
    const id = `${e.type === 'task' ? 't' : 'e'}${e.idx}`;
    const k = key(e.type, id);
    const client_timestamp = new Date(baseMs + e.tsMs).toISOString();
    const shown = this.shows(k);
    const version = this.replica.get(k)?.version ?? 1;
    const versioned = e.type === 'task';
    let change: WireChange;
    if (e.action === 'delete') {
      change = { entity_type: e.type, entity_id: id, action: 'delete', client_timestamp };
      if (versioned) change.version = shown ? version : 0;
      this.gone.add(k);
    } else if (shown) {
      const data = { ...e.patch };
      change = { entity_type: e.type, entity_id: id, action: 'update', data, client_timestamp };
      if (versioned) change.version = version;
    } else {
      if (this.gone.has(k)) return; // this device will not reuse a deleted id
      change = { entity_type: e.type, entity_id: id, action: 'create', data: { ...e.create, ...e.patch }, client_timestamp };
      if (versioned) change.version = e.createVersion;
    }
    this.pending.push(change);
  }

  private take(body: DeltaBody): void {
    for (const s of body.server_changes) {
      const k = key(s.entity_type, s.entity_id);
      if (s.action === 'delete') {
        this.replica.delete(k);
        this.gone.add(k);
      } else this.replica.set(k, { version: s.version, data: s.data! });
    }
    this.watermark = body.last_sync_at;
  }

  async sync(t: TestApp, limit: number): Promise<void> {
    const changes = this.pending;
    this.pending = [];
    let body = await sync(t, this.token, { device_id: this.name, last_sync_at: this.watermark, changes, limit });
    this.log.push(`${this.name} sent ${JSON.stringify(changes)} since ${this.watermark} -> ${JSON.stringify(body)}`);
    if (body.errors.length > 0) throw new Error(`unexpected per-change errors: ${JSON.stringify(body.errors)}`);
    const outcomes = body.applied.length + body.conflicts.filter((c) => c.resolution !== 'merged').length;
    if (outcomes !== changes.length) throw new Error(`${changes.length} changes but ${outcomes} outcomes: ${JSON.stringify(body)}`);

    count('requests');
    count('changes', changes.length);
    for (const c of body.conflicts) count(c.resolution);
    for (const a of body.applied) count(a.data === undefined ? 'applied' : 'applied with data');
    if (body.has_more) count('has_more');
    // 1. Own changes as patches.
    for (const c of changes) {
      const k = key(c.entity_type, c.entity_id);
      const current = this.replica.get(k);
      if (c.action === 'delete') this.replica.delete(k);
      // A create of a new id stores the documented defaults; of an id that exists it patches
      // only the fields it sends (the server's state then comes back below anyway).
      else if (c.action === 'create') {
        this.replica.set(
          k,
          current ? { ...current, data: { ...current.data, ...c.data } } : { version: 1, data: { ...DEFAULTS[c.entity_type], ...c.data } },
        );
      } else if (current) this.replica.set(k, { version: current.version, data: { ...current.data, ...c.data } });
    }
    // 2. Versions, and the full state when sent.
    for (const a of body.applied) {
      const k = key(a.entity_type, a.entity_id);
      if (a.data === null) this.replica.delete(k);
      else if (a.data !== undefined) this.replica.set(k, { version: a.version, data: a.data });
      else {
        const current = this.replica.get(k);
        if (current) this.replica.set(k, { ...current, version: a.version });
      }
    }
    // 3. Conflicts: the server's state after the request.
    for (const c of body.conflicts) {
      const k = key(c.entity_type, c.entity_id);
      if (c.server_data === null) {
        this.replica.delete(k);
        this.gone.add(k);
      } else this.replica.set(k, { version: c.server_version!, data: c.server_data });
    }
    // 4. What others changed.
    this.take(body);
    while (body.has_more) {
      body = await sync(t, this.token, { device_id: this.name, last_sync_at: this.watermark, limit });
      this.log.push(`${this.name} pulled -> ${JSON.stringify(body)}`);
      count('requests');
      this.take(body);
    }
  }
}

/** A new device's first sync, paged. */
export async function firstSync(t: TestApp, token: string, limit: number): Promise<Replica> {
  const d = new Device(`fresh-${Date.now()}`, token);
  await d.sync(t, limit);
  return d.replica;
}

// ---------------------------------------------------------------------------------------
// Arbitraries

interface Edit {
  kind: 'edit';
  device: number;
  type: EntityType;
  idx: number;
  action: 'create' | 'update' | 'delete';
  /** The fields set (update) or added to `create` (create). */
  patch: Record<string, unknown>;
  create: Record<string, unknown>;
  createVersion: 0 | 1;
  /** Offset of the client timestamp from the run's base time. */
  tsMs: number;
}
type Step = Edit | { kind: 'sync'; devices: number[] };

const DEVICES = 3;
const ID_POOL = 4;

const nonEmpty = (arb: fc.Arbitrary<Record<string, unknown>>, fallback: Record<string, unknown>) =>
  arb.map((p) => (Object.keys(p).length > 0 ? p : fallback));

const taskPatch = nonEmpty(
  fc.record(
    {
      title: fc.constantFrom('buy milk', 'walk dog', 'homework'),
      desc: fc.constantFrom(null, 'soon', 'later'),
      status: fc.constantFrom('open', 'in_progress', 'done'),
      points: fc.integer({ min: 0, max: 3 }),
      assignees: fc.subarray(['alice', 'bob']),
      completedAt: fc.constantFrom(null, '2025-01-02T03:04:05.000Z'),
    },
    { requiredKeys: [] },
  ),
  { title: 'renamed' },
);

const eventPatch = nonEmpty(
  fc.record(
    {
      title: fc.constantFrom('dentist', 'party', 'school'),
      description: fc.constantFrom(null, 'bring cake', 'room 4'),
      // Every start is before every end: a merge of the two can never break end >= start.
      start: fc.constantFrom('2030-01-01T08:00:00.000Z', '2030-01-01T09:00:00.000Z'),
      end: fc.constantFrom(null, '2030-01-01T10:00:00.000Z', '2030-01-01T11:00:00.000Z'),
      attendees: fc.subarray(['alice', 'bob', 'kid']),
    },
    { requiredKeys: [] },
  ),
  { title: 'moved' },
);

// A 20 s window in whole seconds (ties happen) and sometimes a clock running 20 min ahead
// (clamped by the server to now + 5 min).
const tsMs = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: 0, max: 20 }).map((s) => s * 1000) },
  { weight: 1, arbitrary: fc.constant(20 * 60_000) },
);

const editArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('edit' as const),
    device: fc.integer({ min: 0, max: DEVICES - 1 }),
    type: fc.constant('task' as const),
    idx: fc.integer({ min: 0, max: ID_POOL - 1 }),
    action: fc.constantFrom<Edit['action']>('create', 'update', 'update', 'update', 'delete'),
    patch: taskPatch,
    create: fc.record({ title: fc.constantFrom('new task', 'chores') }),
    createVersion: fc.constantFrom<0 | 1>(0, 1),
    tsMs,
  }),
  fc.record({
    kind: fc.constant('edit' as const),
    device: fc.integer({ min: 0, max: DEVICES - 1 }),
    type: fc.constant('event' as const),
    idx: fc.integer({ min: 0, max: ID_POOL - 1 }),
    action: fc.constantFrom<Edit['action']>('create', 'update', 'update', 'update', 'delete'),
    patch: eventPatch,
    create: fc.record({ title: fc.constantFrom('new event', 'meeting'), start: fc.constant('2030-01-01T07:00:00.000Z') }),
    createVersion: fc.constant<0 | 1>(0),
    tsMs,
  }),
);

const syncArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: DEVICES - 1 }).map((d) => ({ kind: 'sync' as const, devices: [d] })) },
  // Several devices syncing at the same time.
  {
    weight: 1,
    arbitrary: fc
      .uniqueArray(fc.integer({ min: 0, max: DEVICES - 1 }), { minLength: 2, maxLength: DEVICES })
      .map((devices) => ({ kind: 'sync' as const, devices })),
  },
);

export const scenarioArb = fc.record({
  steps: fc.array(fc.oneof({ weight: 3, arbitrary: editArb }, { weight: 1, arbitrary: syncArb }), {
    minLength: 8,
    maxLength: 48,
    size: 'max',
  }),
  limit: fc.constantFrom(2, 5, 1000),
});
