import fc from 'fast-check';
import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { DataSource } from 'typeorm';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import { familyState, rowCounts } from '../support/family-state';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * PROTOCOL 2.6 as a property: arbitrary strings (any code point, NUL and other control characters,
 * lone surrogates, NFC/NFD) and arbitrary JSON (deep, wide, keys such as __proto__) in every
 * field of POST /sync/delta and of the family endpoints. Never a 5xx; a refused request
 * (4xx) changes nothing (the family's full state, or for POST /families every table's row
 * count, is equal before and after); an accepted odd value reads back exactly as sent.
 *
 * HOSTILE_RUNS (default 300) and HOSTILE_SEED replay a run.
 */
const RUNS = Number(process.env.HOSTILE_RUNS ?? 300);
const SEED = process.env.HOSTILE_SEED ? Number(process.env.HOSTILE_SEED) : Date.now() % 1_000_000;
const RUNS_PER_FAMILY = 100;
jest.setTimeout(Math.max(300_000, RUNS * 200));

const TS = '2025-11-11T12:00:00Z';
const char = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constantFrom('\u0000', 'e\u0301', '\u00e9', '\uffff', '😀', 'a', '-', '.', '/', '%') },
);
const odd = fc.string({ unit: char, maxLength: 12 });
const key = fc.oneof(odd, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'title', 'assignees', 'status', 'start'));
/** Deep values are written into the JSON text afterwards (JSON.stringify cannot nest 100,000 levels). */
const DEEP = '\u0002deep-';
const deep = fc.constantFrom(63, 64, 65, 1_000, 100_000).map((n) => `${DEEP}${n}`);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    odd,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    deep,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: odd }, { weight: 1, arbitrary: json });

const taskData = fc.record(
  { title: field(odd), assignees: fc.oneof(fc.array(odd, { maxLength: 3 }), json), status: field(fc.constantFrom('open', 'done')) },
  { requiredKeys: [] },
);
/** An object whose own key is `__proto__` (as JSON.parse makes it), beside valid fields or alone. */
const withProto = (fields: Record<string, unknown>, value: unknown) =>
  Object.defineProperty({ ...fields }, '__proto__', { value, enumerable: true, writable: true, configurable: true });
const data = fc.oneof(
  taskData,
  fc.tuple(taskData, json).map(([fields, value]) => withProto(fields, value)),
  json.map((value) => withProto({}, value)),

  fc.tuple(taskData, fc.dictionary(key, json, { maxKeys: 3 })).map(([a, b]) => ({ ...b, ...a })),
  fc.dictionary(key, json, { maxKeys: 3 }),
);
const change = fc.record(
  {
    entity_type: field(fc.constantFrom('task', 'event', 'points_ledger')),
    entity_id: field(fc.uuid()),
    action: field(fc.constantFrom('create', 'update', 'delete')),
    data: fc.oneof({ weight: 4, arbitrary: data }, { weight: 1, arbitrary: json }),
    version: fc.oneof(fc.constant(0), fc.constant(1), json),
    client_timestamp: field(fc.constant(TS)),
    change_id: field(fc.uuid()),
  },
  { requiredKeys: ['entity_type', 'entity_id', 'action', 'client_timestamp'] },
);
/** A create that is valid but for a lone `__proto__` in its data (PROTOCOL 2.13): it must never be stored. */
const protoCreate = fc.record({
  entity_type: fc.constantFrom('task', 'event'),
  entity_id: fc.uuid(),
  action: fc.constant('create'),
  data: fc.tuple(json, fc.boolean()).map(([value, event]) => withProto(event ? { title: 'e', start: TS } : { title: 'Buy milk' }, value)),
  client_timestamp: fc.constant(TS),
});
const deltaBody = fc.record(
  {
    device_id: field(fc.constantFrom('phone', 'tablet')),
    last_sync_at: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(null, TS) },
      { weight: 1, arbitrary: odd },
      { weight: 1, arbitrary: json },
    ),
    changes: fc.oneof(
      { weight: 5, arbitrary: fc.array(change, { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.array(fc.oneof(change, protoCreate), { minLength: 1, maxLength: 3 }) },
      { weight: 1, arbitrary: json },
    ),
    atomic: fc.oneof({ weight: 8, arbitrary: fc.boolean() }, { weight: 1, arbitrary: json }),
  },
  { requiredKeys: ['device_id'] },
);

type Scenario =
  | { kind: 'delta'; body: Record<string, unknown> }
  | { kind: 'create-family'; body: unknown }
  | { kind: 'add-member'; body: unknown }
  | { kind: 'remove-member'; userId: string }
  | { kind: 'list-members'; query: string };
const scenario: fc.Arbitrary<Scenario> = fc.oneof(
  { weight: 6, arbitrary: deltaBody.map((body) => ({ kind: 'delta' as const, body })) },
  { weight: 1, arbitrary: fc.record({ name: field(fc.constant('Family')) }).map((body) => ({ kind: 'create-family' as const, body })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ userId: field(fc.constant('bob')), role: field(fc.constant('member')) })
      .map((body) => ({ kind: 'add-member' as const, body })),
  },
  { weight: 1, arbitrary: odd.filter((s) => s.length > 0).map((userId) => ({ kind: 'remove-member' as const, userId })) },
  { weight: 1, arbitrary: odd.map((query) => ({ kind: 'list-members' as const, query })) },
);

/** JSON text with the deep markers expanded. */
const toJson = (value: unknown) =>
  JSON.stringify(value).replace(new RegExp(`"${DEEP}(\\d+)"`, 'g'), (_m, n) => '['.repeat(Number(n)) + ']'.repeat(Number(n)));

/** Percent-encoding that also sends lone surrogates (as their 3 bytes, which are not UTF-8). */
const encodeSegment = (text: string) =>
  Array.from(text)
    .map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        const c = ch.charCodeAt(0);
        return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      }
    })
    .join('');

const isString = (v: unknown): v is string => typeof v === 'string';

describe('hostile input (property)', () => {
  let t: TestApp;
  let fam: FamilyFixture;
  let runs = 0;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t.close());

  const send = (s: Scenario, token: string) => {
    const json = (req: request.Test, body: unknown) => req.set(bearer(token)).set('Content-Type', 'application/json').send(toJson(body));
    switch (s.kind) {
      case 'delta':
        return json(request(t.server).post('/sync/delta'), s.body);
      case 'create-family':
        return json(request(t.server).post('/families'), s.body).set(bearer(mintToken({ sub: 'alice' })));
      case 'add-member':
        return json(request(t.server).post(`/families/${fam.familyId}/members`), s.body);
      case 'remove-member':
        return request(t.server)
          .delete(`/families/${fam.familyId}/members/${encodeSegment(s.userId)}`)
          .set(bearer(token));
      case 'list-members':
        return request(t.server)
          .get(`/families/${fam.familyId}/members?q=${encodeSegment(s.query)}`)
          .set(bearer(token));
    }
  };

  /** Accepted odd values are stored exactly as sent. */
  async function readsBack(s: Scenario, body: Record<string, unknown>): Promise<void> {
    const ds = t.app.get(DataSource);
    if (s.kind === 'create-family') {
      const [row] = await ds.query('SELECT name FROM families WHERE id = $1', [body.id]);
      expect(row.name).toBe((s.body as { name: string }).name);
    }
    if (s.kind === 'add-member') {
      const sent = (s.body as { userId: string }).userId;
      const [row] = await ds.query('SELECT user_id FROM family_members WHERE family_id = $1 AND user_id = $2', [fam.familyId, sent]);
      expect(row?.user_id).toBe(sent);
    }
    if (s.kind !== 'delta') return;
    const device = s.body.device_id as string;
    const devices = await ds.query('SELECT device_id FROM sync_devices WHERE family_id = $1 AND device_id = $2', [fam.familyId, device]);
    expect(devices.map((d: { device_id: string }) => d.device_id)).toEqual([device]);
    // PROTOCOL 2.13: whatever was accepted, nothing stored carries a __proto__ key.
    for (const table of ['tasks', 'events', 'points_ledger', 'conflicts']) {
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM ${table} WHERE family_id = $1 AND data::text LIKE '%"__proto__"%'`, [
        fam.familyId,
      ]);
      expect({ table, n }).toEqual({ table, n: 0 });
    }
    const changes = s.body.changes as Record<string, unknown>[];
    const conflicted = new Set((body.conflicts as { entity_id: string }[]).map((c) => c.entity_id));
    for (const a of body.applied as { entity_type: string; entity_id: string; version: number }[]) {
      const sent = changes.filter((c) => c.entity_type === a.entity_type && c.entity_id === a.entity_id);
      if (sent.length !== 1 || sent[0].action !== 'create' || a.version !== 1 || conflicted.has(a.entity_id)) continue;
      const table = { task: 'tasks', event: 'events', points_ledger: 'points_ledger' }[a.entity_type]!;
      const [row] = await ds.query(`SELECT id, data FROM ${table} WHERE family_id = $1 AND id = $2`, [fam.familyId, a.entity_id]);
      expect(row.id).toBe(a.entity_id);
      for (const [k, v] of Object.entries(sent[0].data as Record<string, unknown>)) expect(row.data[k]).toEqual(v);
    }
  }

  it('never answers 5xx, changes nothing when it refuses, stores accepted values as sent', async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        if (runs++ % RUNS_PER_FAMILY === 0) fam = await createFamily(t, 'alice');
        const token = fam.token();
        const before = s.kind === 'create-family' ? await rowCounts(t) : await familyState(t, fam.familyId);
        const res = await send(s, token);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) throw new Error(`${res.status}: ${JSON.stringify(res.body)}`);
        if (res.status >= 400) {
          expect(s.kind === 'create-family' ? await rowCounts(t) : await familyState(t, fam.familyId)).toEqual(before);
        } else if (s.kind !== 'delta' || isString(s.body.device_id)) {
          await readsBack(s, res.body);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: RUNS > 1000 },
    );
    console.log(
      `hostile input: ${RUNS} runs (seed ${SEED}) in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
    expect([...statuses.keys()].every((status) => status < 500)).toBe(true);
  });
});
