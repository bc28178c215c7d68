import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { StripProtoKeys1764116000000 } from '../../apps/api/src/sync/migrations/1764116000000-strip-proto-keys';
import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { change, createFamily, delta, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { familyState, rowCounts } from '../support/family-state';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * PROTOCOL 2.6, one fixed case per line: what the input guard refuses (NUL, unpaired surrogates,
 * nesting over 64 levels), where it answers 400 and where a per-change error, and that odd
 * but storable strings come back exactly as sent.
 */
const TS = '2025-11-11T12:00:00Z';
const deep = (levels: number, leaf = '1') => '['.repeat(levels) + leaf + ']'.repeat(levels);

let t: TestApp;
let fam: FamilyFixture;
let token: string;

beforeAll(async () => {
  t = await startTestApp();
  fam = await createFamily(t, 'alice');
  token = fam.token();
});
afterAll(() => t.close());

/** POST /sync/delta with a raw JSON text (JSON.stringify cannot build 100,000 levels). */
const rawDelta = (json: string) =>
  request(t.server).post('/sync/delta').set(bearer(token)).set('Content-Type', 'application/json').send(json);

const good = (id: string) => change({ entity_id: id, data: { title: 'fine' }, client_timestamp: TS });

describe('in data: per-change error validation naming the field, the other changes applied', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['NUL in a title', { title: 'a\u0000b' }, /^data\.title contains a NUL character \(U\+0000\)$/],
    ['unpaired surrogate in a title', { title: 'x\ud800' }, /^data\.title contains an unpaired UTF-16 surrogate$/],
    ['NUL in an assignee', { title: 'ok', assignees: ['bob', '\u0000'] }, /^data\.assignees\.1 contains a NUL/],
    ['NUL in a key of data', { title: 'ok', ['ti\u0000tle']: 1 }, /^key "ti\\u0000tle" of data contains a NUL/],
    ['lone low surrogate in an unknown field', { title: 'ok', extra: '\udc00' }, /^data\.extra contains an unpaired/],
  ])('%s', async (_name, data, message) => {
    const id = `bad-${Math.random()}`;
    const b = await syncOk(t, token, { changes: [change({ entity_id: id, data, client_timestamp: TS }), good(`ok-${id}`)] });
    expect(b.errors).toEqual([
      { index: 0, entity_type: 'task', entity_id: id, code: 'validation', message: expect.stringMatching(message) },
    ]);
    expect(b.applied).toEqual([{ entity_type: 'task', entity_id: `ok-${id}`, version: 1 }]);
  });

  it.each([10_000, 100_000])('data nested %i levels deep (title, assignees, unknown field)', async (levels) => {
    for (const field of ['title', 'assignees', 'unknown']) {
      const json = `{"device_id":"d","changes":[
        {"entity_type":"task","entity_id":"deep-${levels}-${field}","action":"create","client_timestamp":"${TS}","data":{"${field}":${deep(levels)}}},
        {"entity_type":"event","entity_id":"ev-${levels}-${field}","action":"create","client_timestamp":"${TS}","data":{"title":"e","start":"${TS}"}}]}`;
      const res = await rawDelta(json).expect(200);
      expect(res.body.errors).toEqual([
        {
          index: 0,
          entity_type: 'task',
          entity_id: `deep-${levels}-${field}`,
          code: 'validation',
          message: `data.${field}.0.0.0.0.0.0.… is nested deeper than 64 levels`,
        },
      ]);
      expect(res.body.applied).toEqual([expect.objectContaining({ entity_type: 'event', entity_id: `ev-${levels}-${field}`, version: 1 })]);
    }
  });

  it('also for a delete, and a retry gets the same error (its receipt is stored)', async () => {
    const bad = change({ entity_id: 'del-x', action: 'delete', version: 1, data: { note: '\u0000' }, client_timestamp: TS });
    const first = await syncOk(t, token, { changes: [bad] });
    expect(first.errors).toEqual([expect.objectContaining({ code: 'validation', message: 'data.note contains a NUL character (U+0000)' })]);
    const again = await syncOk(t, token, { changes: [bad] });
    expect(again.errors).toEqual(first.errors);
  });

  it('with atomic: true the whole batch is rolled back', async () => {
    // The request is answered (200), so the device's last-seen row moves; nothing else may.
    // Device visits, the family's clock row and the request's record (PROTOCOL 2.11) are not the batch's data.
    const withoutDevices = async () => ({
      ...(await familyState(t, fam.familyId)),
      sync_devices: [],
      sync_requests: [],
      family_sync_state: [],
    });
    const before = await withoutDevices();
    const b = await syncOk(t, token, {
      atomic: true,
      changes: [good('atomic-ok'), change({ entity_id: 'atomic-bad', data: { title: '\ud800' }, client_timestamp: TS })],
    });
    expect(b.applied_count).toBe(0);
    expect(b.errors).toEqual([expect.objectContaining({ index: 1, code: 'validation' })]);
    expect(await withoutDevices()).toEqual(before);
    // Recorded as such: rolled back, the refused data not kept.
    const records = (await familyState(t, fam.familyId)).sync_requests.map((r) => JSON.parse(r) as Record<string, unknown>);
    const record = records.filter((r) => r.id === b.request_id);
    expect(record).toEqual([expect.objectContaining({ discarded: true, applied: 0, errors: 1 })]);
    expect(JSON.stringify(record)).not.toContain('\\ud800');
  });
});

describe('in entity_type: per-change error unknown_entity_type', () => {
  it.each([
    ['ta\u0000sk', 'ta\\u0000sk'],
    ['task\udbff', 'task\\udbff'],
  ])('%j', async (type, shown) => {
    const b = await syncOk(t, token, {
      changes: [
        change({ entity_type: type, entity_id: `et-${shown}`, data: { title: 'x' }, client_timestamp: TS }),
        good(`et-ok-${shown}`),
      ],
    });
    expect(b.errors).toEqual([
      { index: 0, entity_type: shown, entity_id: `et-${shown}`, code: 'unknown_entity_type', message: `unknown entity_type "${shown}"` },
    ]);
    expect(b.applied_count).toBe(1);
  });
});

describe('in the envelope: 400 invalid_input naming the field, nothing applied', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['device_id', { device_id: 'ph\u0000one', changes: [good('env-1')] }, 'device_id'],
    ['device_id (surrogate)', { device_id: '\udc00', changes: [good('env-1')] }, 'device_id'],
    ['entity_id', { changes: [good('env-1'), change({ entity_id: 'a\u0000', data: { title: 'x' } })] }, 'changes.1.entity_id'],
    ['entity_id (surrogate)', { changes: [change({ entity_id: 'a\ud800', data: { title: 'x' } })] }, 'changes.0.entity_id'],
    ['change_id', { changes: [{ ...good('env-1'), change_id: 'c\u0000' }] }, 'changes.0.change_id'],
    ['last_sync_at', { last_sync_at: '2025-11-11T12:00:00Z\u0000', changes: [good('env-1')] }, 'last_sync_at'],
    ['client_timestamp', { changes: [{ ...good('env-1'), client_timestamp: `${TS}\u0000` }] }, 'changes.0.client_timestamp'],
    ['action', { changes: [{ ...good('env-1'), action: 'create\u0000' }] }, 'changes.0.action'],
  ])('%s', async (_name, body, field) => {
    const before = await familyState(t, fam.familyId);
    const res = await delta(t, token, body).expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'invalid_input', details: { source: 'body', field } });
    expect(res.body.message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')} contains (a NUL|an unpaired)`));
    expect(await familyState(t, fam.familyId)).toEqual(before);
  });

  it('deep nesting outside data', async () => {
    const res = await rawDelta(`{"device_id":"d","atomic":${deep(100_000)}}`).expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_input', message: 'atomic.0.0.0.0.0.0.0.… is nested deeper than 64 levels' });
  });

  it('a 100,000-level body is parsed (no RangeError) and refused', async () => {
    const res = await rawDelta(deep(100_000, '{}')).expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_input', message: '0.0.0.0.0.0.0.0.… is nested deeper than 64 levels' });
  });

  it('a query parameter', async () => {
    const res = await request(t.server).get('/sync/devices?device=a%00b').set(bearer(token)).expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_input', message: 'query parameter device contains a NUL character (U+0000)' });
  });
});

describe('authentication comes first', () => {
  it('a request without a token gets 401 whatever its input', async () => {
    await request(t.server).post('/sync/delta').send({ device_id: 'a\u0000' }).expect(401);
    await request(t.server).delete(`/families/${fam.familyId}/members/a%00b`).expect(401);
  });
});

describe('family endpoints: 400 invalid_input naming the field, nothing stored', () => {
  it('POST /families with a NUL or a lone surrogate in the name', async () => {
    for (const name of ['a\u0000b', 'x\ud800']) {
      const before = await rowCounts(t);
      const res = await request(t.server)
        .post('/families')
        .set(bearer(mintToken({ sub: 'carol' })))
        .send({ name })
        .expect(400);
      expect(res.body).toMatchObject({ error: 'invalid_input', details: { source: 'body', field: 'name' } });
      expect(await rowCounts(t)).toEqual(before);
    }
  });

  it('POST /families/:id/members with a bad userId, and a bad key', async () => {
    const before = await familyState(t, fam.familyId);
    for (const body of [
      { userId: 'b\u0000b', role: 'member' },
      { userId: '\udfff', role: 'member' },
      { userId: 'bob', role: 'member', ['r\u0000']: 1 },
    ]) {
      const res = await request(t.server).post(`/families/${fam.familyId}/members`).set(bearer(token)).send(body).expect(400);
      expect(res.body.error).toBe('invalid_input');
    }
    expect(await familyState(t, fam.familyId)).toEqual(before);
  });

  it('DELETE /families/:id/members/:userId with a NUL in the path', async () => {
    const before = await familyState(t, fam.familyId);
    const res = await request(t.server).delete(`/families/${fam.familyId}/members/a%00b`).set(bearer(token)).expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_input', message: 'path parameter userId contains a NUL character (U+0000)' });
    const byId = await request(t.server).get(`/families/${fam.familyId}%00/members`).set(bearer(token)).expect(400);
    expect(byId.body).toMatchObject({ error: 'invalid_input', details: { source: 'path', field: 'id' } });
    expect(await familyState(t, fam.familyId)).toEqual(before);
  });
});

describe('odd but storable strings are stored and returned exactly as sent', () => {
  it('NFC and NFD are two ids; control characters, U+FFFF and emoji round-trip', async () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const title = '\u0001\u001f\u007f\u2028\uffff\ufffe😀 \\u0000 "quoted"';
    const pushed = await syncOk(t, token, {
      changes: [
        change({ entity_id: nfc, data: { title: 'nfc' }, client_timestamp: TS }),
        change({ entity_id: nfd, data: { title, assignees: ['🙂', 'e\u0301'] }, client_timestamp: TS }),
      ],
    });
    expect(pushed.applied.map((a) => a.entity_id)).toEqual([nfc, nfd]);
    const pulled = await syncOk(t, fam.token(), { device_id: 'other-device' });
    const byId = new Map(pulled.server_changes.map((c) => [c.entity_id, c.data]));
    expect(byId.get(nfc)).toMatchObject({ title: 'nfc' });
    expect(byId.get(nfd)).toMatchObject({ title, assignees: ['🙂', 'e\u0301'] });
  });

  it('keys such as constructor are plain (unknown) fields, refused per change', async () => {
    const json = `{"device_id":"d","changes":[{"entity_type":"task","entity_id":"ctor","action":"create","client_timestamp":"${TS}","data":{"title":"p","constructor":"c"}}]}`;
    const res = await rawDelta(json).expect(200);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'validation', entity_id: 'ctor' })]);
  });
});

describe('PROTOCOL 2.13: a __proto__ key is refused anywhere, and never stored or pulled', () => {
  const protoChange = (id: string, data: string, type = 'task') =>
    `{"entity_type":"${type}","entity_id":"${id}","action":"create","client_timestamp":"${TS}","data":${data}}`;

  it.each<[string, string, string, string]>([
    ['alone beside a title', 'task', '{"title":"p","__proto__":{"x":"smuggled"}}', 'key "__proto__" of data is refused'],
    ['nested in a list', 'task', '{"title":"p","assignees":[{"__proto__":{"x":1}}]}', 'key "__proto__" of data.assignees.0 is refused'],
    ['in an event', 'event', `{"title":"e","start":"${TS}","__proto__":null}`, 'key "__proto__" of data is refused'],
    ['in a server-owned type', 'badge', '{"__proto__":{"x":1}}', 'key "__proto__" of data is refused'],
  ])('in data (%s): a per-change validation error naming it, the rest applied', async (_name, type, data, message) => {
    const id = `proto-${Math.random()}`;
    const json = `{"device_id":"d","changes":[${protoChange(id, data, type)},${protoChange(`ok-${id}`, '{"title":"fine"}')}]}`;
    const res = await rawDelta(json).expect(200);
    expect(res.body.errors).toEqual([
      { index: 0, entity_type: type, entity_id: id, code: 'validation', message: expect.stringContaining(message) },
    ]);
    expect(res.body.applied).toEqual([{ entity_type: 'task', entity_id: `ok-${id}`, version: 1 }]);
  });

  it.each<[string, string]>([
    ['the envelope', `{"device_id":"d","__proto__":{"x":1},"changes":[${protoChange('env', '{"title":"t"}')}]}`],
    [
      'a change',
      `{"device_id":"d","changes":[{"__proto__":{},"entity_type":"task","entity_id":"chg","action":"create","client_timestamp":"${TS}","data":{"title":"t"}}]}`,
    ],
  ])('in %s: 400 naming it, nothing applied', async (_name, json) => {
    const before = await familyState(t, fam.familyId);
    const res = await rawDelta(json).expect(400);
    expect(res.body.message).toMatch(/key "__proto__" of (body|changes\.0) is refused/);
    expect(await familyState(t, fam.familyId)).toEqual(before);
  });

  it('in a family endpoint body: 400', async () => {
    const res = await request(t.server)
      .post('/families')
      .set(bearer(mintToken({ sub: 'alice' })))
      .set('Content-Type', 'application/json')
      .send('{"name":"n","__proto__":{"x":1}}');
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('__proto__');
  });

  it('the migration removes __proto__ keys stored before the guard refused them, at any depth', async () => {
    const ds = t.app.get(DataSource);
    const stored = '{"title":"old","__proto__":{"x":1},"assignees":[{"__proto__":null,"keep":"me"}],"tags":{"__proto__x":2}}';
    await ds.query(
      `INSERT INTO tasks (family_id, id, version, data, field_clocks, client_us, created_us, changed_us)
       VALUES ($1, 'stored-proto', 1, $2::jsonb, '{}', 0, 1, 1)`,
      [fam.familyId, stored],
    );
    const runner = ds.createQueryRunner();
    try {
      await new StripProtoKeys1764116000000().up(runner);
    } finally {
      await runner.release();
    }
    const [row] = await ds.query(`SELECT data FROM tasks WHERE family_id = $1 AND id = 'stored-proto'`, [fam.familyId]);
    expect(JSON.stringify(row.data)).not.toContain('"__proto__"');
    expect(row.data).toEqual({ title: 'old', assignees: [{ keep: 'me' }], tags: { __proto__x: 2 } });
  });

  it('a fresh device pulls no __proto__ anywhere after all of the above', async () => {
    const pulled = await request(t.server)
      .post('/sync/delta')
      .set(bearer(token))
      .send({ device_id: `fresh-${Math.random()}` })
      .expect(200);
    expect(pulled.text).not.toContain('"__proto__"');
    expect(pulled.body.server_changes.length).toBeGreaterThan(0);
  });
});

describe('last line of defence: a PostgreSQL data exception is a 400, logged at warn', () => {
  it('a token whose sub holds a NUL (the guard does not read tokens): 400 unstorable_input, nothing stored', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const before = await rowCounts(t);
    const res = await request(t.server)
      .post('/families')
      .set(bearer(mintToken({ sub: 'mal\u0000ory' })))
      .set('X-Request-Id', 'req-data-exc')
      .send({ name: 'n' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'unstorable_input', details: { sqlState: '22021' }, requestId: 'req-data-exc' });
    expect(await rowCounts(t)).toEqual(before);
    expect(warn).toHaveBeenCalledWith({ sqlState: '22021', requestId: 'req-data-exc' }, expect.stringContaining('refused'));
    warn.mockRestore();
  });
});
