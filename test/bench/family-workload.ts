import type { DeltaResponse, WireChange } from './fixtures';

/**
 * The family mix (issue 32): what a family app does, one device's view of it. Each request
 * carries 10 changes drawn from this table, mostly on the family's three newest entities so
 * that the devices of one family contend; completions make the server write points, streaks
 * and badges; contention fills the inbox. The weights add up to 90: they are relative.
 */
export const FAMILY_MIX: readonly [Operation, number][] = [
  ['create_task', 20],
  ['update_task', 25],
  ['complete_task', 8],
  ['reopen_task', 4],
  ['delete_task', 5],
  ['create_event', 10],
  ['update_event', 15],
  ['delete_event', 3],
];

export type Operation =
  'create_task' | 'update_task' | 'complete_task' | 'reopen_task' | 'delete_task' | 'create_event' | 'update_event' | 'delete_event';

type Kind = 'task' | 'event';

interface Held {
  version: number;
  status?: string;
}

/** Share of picks that go to one of the three newest entities of the type (the rest: any). */
const NEWEST_SHARE = 0.75;
const TOTAL_WEIGHT = FAMILY_MIX.reduce((sum, [, w]) => sum + w, 0);

/** One device's replica (tasks and events it holds, with versions) and its next changes. */
export class FamilyDevice {
  private readonly held: Record<Kind, Map<string, Held>> = { task: new Map(), event: new Map() };
  /** Ids in the order the device first saw them: the newest last. */
  private readonly order: Record<Kind, string[]> = { task: [], event: [] };
  private seq = 0;

  constructor(
    readonly deviceId: string,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next request's changes: `n` changes, at most one per entity. */
  nextChanges(n: number, at = new Date().toISOString()): WireChange[] {
    const used = new Set<string>();
    const changes: WireChange[] = [];
    while (changes.length < n) changes.push(this.change(this.pickOperation(), used, at));
    return changes;
  }

  private pickOperation(): Operation {
    let r = this.random() * TOTAL_WEIGHT;
    for (const [op, weight] of FAMILY_MIX) {
      r -= weight;
      if (r < 0) return op;
    }
    return FAMILY_MIX[FAMILY_MIX.length - 1][0];
  }

  private change(op: Operation, used: Set<string>, at: string): WireChange {
    const kind: Kind = op.endsWith('event') ? 'event' : 'task';
    if (op === 'create_task' || op === 'create_event') return this.create(kind, at);
    const want =
      op === 'complete_task' ? (h: Held) => h.status !== 'done' : op === 'reopen_task' ? (h: Held) => h.status === 'done' : () => true;
    const id = this.pick(kind, used, want);
    if (id === undefined) return this.create(kind, at);
    used.add(`${kind}:${id}`);
    const held = this.held[kind].get(id)!;
    const base = { entity_type: kind, entity_id: id, client_timestamp: at, ...(kind === 'task' ? { version: held.version } : {}) };
    if (op === 'delete_task' || op === 'delete_event') return { ...base, action: 'delete' };
    const rev = this.seq++;
    const data =
      op === 'complete_task'
        ? { status: 'done' }
        : op === 'reopen_task'
          ? { status: 'open' }
          : kind === 'task'
            ? { title: `${id} edited by ${this.deviceId} #${rev}` }
            : { title: `${id} moved by ${this.deviceId} #${rev}`, description: `rev ${rev}` };
    return { ...base, action: 'update', data };
  }

  private create(kind: Kind, at: string): WireChange {
    const id = `${this.deviceId}-${kind[0]}${this.seq++}`;
    const data =
      kind === 'task'
        ? { title: `Chore ${id}`, desc: 'Empty the dishwasher and take out the recycling.', assignees: ['kid-1'], points: 10 }
        : { title: `Practice ${id}`, start: '2026-12-24T16:00:00.000Z', end: '2026-12-24T17:00:00.000Z', attendees: ['kid-1'] };
    return { entity_type: kind, entity_id: id, action: 'create', data, client_timestamp: at, ...(kind === 'task' ? { version: 0 } : {}) };
  }

  /**
   * One of the three newest live entities (most picks), else any live one; not one already in
   * this request. Bounded work per pick whatever the replica's size (a scan of the whole replica
   * per change made the generator's CPU grow with the soak's minutes until it starved the service).
   */
  private pick(kind: Kind, used: Set<string>, want: (h: Held) => boolean): string | undefined {
    const order = this.order[kind];
    const fits = (id: string) => {
      const h = this.held[kind].get(id);
      return h !== undefined && !used.has(`${kind}:${id}`) && want(h);
    };
    if (this.random() < NEWEST_SHARE) {
      const newest: string[] = [];
      for (let i = order.length - 1; i >= 0 && newest.length < 3; i--) if (fits(order[i])) newest.push(order[i]);
      return newest.length === 0 ? undefined : newest[Math.floor(this.random() * newest.length)];
    }
    // Any live one, uniformly: random probes (each fitting id is as likely as another), then one
    // pass from a random start for the rare case that most ids do not fit.
    for (let probe = 0; probe < 16 && order.length > 0; probe++) {
      const id = order[Math.floor(this.random() * order.length)];
      if (fits(id)) return id;
    }
    const from = Math.floor(this.random() * order.length);
    for (let k = 0; k < order.length; k++) {
      const id = order[(from + k) % order.length];
      if (fits(id)) return id;
    }
    return undefined;
  }

  private see(kind: string, id: string, version: number, data: unknown, deleted: boolean): void {
    if (kind !== 'task' && kind !== 'event') return;
    const map = this.held[kind];
    if (deleted) {
      map.delete(id);
      return;
    }
    const status = (data as { status?: string } | null | undefined)?.status;
    const had = map.get(id);
    if (!had) this.order[kind].push(id);
    map.set(id, { version, status: status ?? had?.status });
  }

  /** Takes in a response to `sent` (the request's changes): outcomes first, then the pulled entities. */
  absorb(sent: WireChange[], body: DeltaResponse & { conflicts: { server_data?: unknown }[] }): void {
    const byKey = new Map(sent.map((c) => [`${c.entity_type}:${c.entity_id}`, c]));
    for (const a of body.applied as { entity_type: string; entity_id: string; version: number; data?: unknown }[]) {
      const change = byKey.get(`${a.entity_type}:${a.entity_id}`);
      this.see(a.entity_type, a.entity_id, a.version, a.data ?? change?.data, change?.action === 'delete');
    }
    for (const c of body.conflicts) {
      if (c.server_version === null || c.server_data === null) this.see(c.entity_type, c.entity_id, 0, null, true);
      else this.see(c.entity_type, c.entity_id, c.server_version, c.server_data, false);
    }
    for (const s of body.server_changes) this.see(s.entity_type, s.entity_id, s.version, s.data, s.action === 'delete');
    // Ids that are gone stay in `order`; compact now and then so picks stay cheap.
    for (const kind of ['task', 'event'] as const)
      if (this.order[kind].length > 2 * this.held[kind].size + 50)
        this.order[kind] = this.order[kind].filter((id) => this.held[kind].has(id));
  }

  /** The replica as `type:id -> version`, for the convergence check. */
  replica(): Map<string, number> {
    const out = new Map<string, number>();
    for (const kind of ['task', 'event'] as const) for (const [id, h] of this.held[kind]) out.set(`${kind}:${id}`, h.version);
    return out;
  }
}
