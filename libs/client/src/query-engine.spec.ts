import fc from 'fast-check';
import { planQuery, QueryOptions, runQuery, Scalar } from './query-engine.js';
import { MemoryStorage } from './memory-storage.js';
import { SyncClient } from './sync-client.js';
import { Entity, OutgoingChange, StoredEntity } from './types.js';
import { TaskData } from './entity-types.js';

/**
 * The query engine against a brute force: the replica's views (pending changes applied, as
 * `list` shows them) filtered by a plain predicate, fully sorted by a plain comparator,
 * cut after the cursor and at the limit. Random replicas, outboxes and queries.
 */
const STATUSES = ['open', 'in_progress', 'done'] as const;
const statusArb = fc.constantFrom(...STATUSES);
const pointsArb = fc.integer({ min: 0, max: 5 });
const dueArb = fc.option(fc.constantFrom('2025-01-01', '2025-01-02', '2025-02-01'), { nil: null });
const idArb = fc.integer({ min: 0, max: 30 }).map((n) => `t${n}`);
const dataArb = fc.record({ title: fc.constantFrom('a', 'b', 'c'), status: statusArb, points: pointsArb, due: dueArb });

const replicaArb = fc.uniqueArray(fc.record({ id: idArb, version: fc.integer({ min: 1, max: 3 }), data: dataArb }), {
  selector: (e) => e.id,
  maxLength: 25,
});
const pendingArb = fc.array(
  fc.record({
    id: idArb,
    action: fc.constantFrom('create', 'update', 'delete') as fc.Arbitrary<OutgoingChange['action']>,
    data: fc.record({ status: statusArb, points: pointsArb }, { requiredKeys: [] }),
  }),
  { maxLength: 8 },
);
const FIELDS = ['status', 'points', 'due', 'title'] as const;
type Field = (typeof FIELDS)[number];
const whereArb = fc.record(
  {
    status: fc.oneof(statusArb, fc.record({ in: fc.uniqueArray(statusArb, { minLength: 1 }) })),
    points: fc.oneof(pointsArb, fc.record({ gte: pointsArb }), fc.record({ gt: pointsArb, lte: pointsArb })),
    due: fc.oneof(dueArb, fc.record({ lt: fc.constantFrom('2025-01-02', '2025-03-01') })),
  },
  { requiredKeys: [] },
);
const sortArb = fc.record({ field: fc.constantFrom<Field>(...FIELDS), desc: fc.boolean() });
const optionsArb = fc.record(
  {
    where: whereArb,
    orderBy: fc.uniqueArray(sortArb, { selector: (s) => s.field, minLength: 1, maxLength: 2 }),
    limit: fc.integer({ min: 1, max: 10 }),
    afterIndex: fc.nat(20),
  },
  { requiredKeys: [] },
);

function bruteMatch(e: Entity, where: Record<string, unknown>): boolean {
  return Object.entries(where).every(([f, c]) => {
    const v = e.data[f] ?? null;
    if (c === null || typeof c !== 'object') return v === c;
    if ('in' in c) return (c.in as unknown[]).includes(v);
    if (v === null) return false;
    const r = c as { gt?: Scalar; gte?: Scalar; lt?: Scalar; lte?: Scalar };
    const x = v as string | number;
    return (
      (r.gt === undefined || x > (r.gt as string | number)) &&
      (r.gte === undefined || x >= (r.gte as string | number)) &&
      (r.lt === undefined || x < (r.lt as string | number)) &&
      (r.lte === undefined || x <= (r.lte as string | number))
    );
  });
}

function bruteCompare(a: Entity, b: Entity, sorts: { field: Field; desc: boolean }[]): number {
  for (const { field, desc } of sorts) {
    const [x, y] = [a.data[field] ?? null, b.data[field] ?? null];
    if (x === y) continue;
    const c = x === null ? -1 : y === null ? 1 : (x as string | number) < (y as string | number) ? -1 : 1;
    return desc ? -c : c;
  }
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

async function clientWith(
  replica: { id: string; version: number; data: Record<string, unknown> }[],
  pending: { id: string; action: OutgoingChange['action']; data: Record<string, unknown> }[],
) {
  const storage = new MemoryStorage();
  const putEntities: StoredEntity[] = replica.map((e) => ({
    entity_type: 'task',
    entity_id: e.id,
    version: e.version,
    data: { ...e.data },
  }));
  await storage.write({ putEntities, putOutbox: [] });
  const c = new SyncClient({ baseUrl: 'http://127.0.0.1:1', deviceId: 'd', getToken: () => 't', storage, logger: null, tabs: false });
  await c.start();
  for (const p of pending) {
    const has = c.get('task', p.id) !== undefined;
    if (p.action === 'create' && !has) await c.create('task', p.id, { title: 'p', ...p.data });
    else if (p.action === 'update' && has) await c.update('task', p.id, p.data);
    else if (p.action === 'delete' && has) await c.delete('task', p.id);
  }
  return c;
}

describe('query engine against a brute force', () => {
  it('where + orderBy + after + limit give the brute force rows over random replicas with pending changes', async () => {
    await fc.assert(
      fc.asyncProperty(replicaArb, pendingArb, optionsArb, async (replica, pending, o) => {
        const c = await clientWith(replica, pending);
        const all = c.list('task');
        const sorts = o.orderBy ?? [];
        const expectedAll = all.filter((e) => bruteMatch(e, o.where ?? {})).sort((a, b) => bruteCompare(a, b, sorts));
        const ordered = [...all].sort((a, b) => bruteCompare(a, b, sorts));
        const after = o.afterIndex !== undefined && ordered.length > 0 ? ordered[o.afterIndex % ordered.length] : undefined;
        let expected = after ? expectedAll.filter((e) => bruteCompare(e, after, sorts) > 0) : expectedAll;
        if (o.limit !== undefined) expected = expected.slice(0, o.limit);
        const options = { where: o.where, orderBy: sorts, limit: o.limit, after } as unknown as QueryOptions<TaskData>;
        const got = c.query('task', options).current;
        expect(got.map((e) => e.id)).toEqual(expected.map((e) => e.id));
        expect(got.every((e) => (e as unknown) === c.get('task', e.id))).toBe(true);
        await c.stop();
      }),
      { numRuns: 150 },
    );
  });

  it('pages by cursor: following `after` through the pages gives the whole ordered result once', () => {
    const rows = Array.from({ length: 23 }, (_, i) => ({ id: `t${i}`, data: { points: i % 4, status: i % 3 ? 'open' : 'done' } }));
    const plan = (after?: (typeof rows)[number]) =>
      planQuery<Record<string, Scalar>>({ where: { status: 'open' }, orderBy: [{ field: 'points', desc: true }], limit: 5, after });
    const seen: string[] = [];
    for (let page = runQuery(rows, plan()); page.length > 0; page = runQuery(rows, plan(page[page.length - 1])))
      seen.push(...page.map((e) => e.id));
    const full = runQuery(
      rows,
      planQuery<Record<string, Scalar>>({ where: { status: 'open' }, orderBy: { field: 'points', desc: true } }),
    ).map((e) => e.id);
    expect(seen).toEqual(full);
    expect(full).toHaveLength(15);
  });

  it('refuses more than two sort keys and a limit that is not a positive integer', () => {
    expect(() => planQuery({ orderBy: ['a', 'b', 'c'] as never })).toThrow('at most two');
    expect(() => planQuery({ limit: 0 })).toThrow('positive integer');
  });
});
