import request from 'supertest';
import { Client } from 'pg';
import { bearer } from '@app/testing';
import type { DeltaResponseDto, ServerChangeDto } from '../../apps/api/src/sync/dto/delta-response.dto';
import { sqlClient } from '../support/db-state';
import { change, createFamily, delta, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * PROTOCOL 2.13 through HTTP on a real database: a pull page has a byte bound, the inbox keeps
 * bounded values of server-owned types, and a watermark this database never issued (far
 * future, or ahead after a restore) answers a resync instead of an error or an empty page.
 */
const TS = '2025-11-11T12:00:00Z';
const MB = 1024 * 1024;
const pageBytes = (page: DeltaResponseDto) => Buffer.byteLength(JSON.stringify(page.server_changes));

/** Every page of a pull from `since` (following has_more), as answered. */
async function pullPages(t: TestApp, token: string, device: string, since: string | null = null): Promise<DeltaResponseDto[]> {
  const pages: DeltaResponseDto[] = [];
  for (let cursor = since; ;) {
    const page = await syncOk(t, token, { device_id: device, last_sync_at: cursor, limit: 5000 });
    pages.push(page);
    cursor = page.last_sync_at;
    if (!page.has_more) return pages;
    if (pages.length > 100) throw new Error('pull does not end');
  }
}

/** The replica a client builds from pages: the latest entry per entity, deletes removed. */
function replicaOf(pages: DeltaResponseDto[]): Map<string, ServerChangeDto> {
  const replica = new Map<string, ServerChangeDto>();
  for (const c of pages.flatMap((p) => p.server_changes)) {
    if (c.action === 'delete') replica.delete(`${c.entity_type}:${c.entity_id}`);
    else replica.set(`${c.entity_type}:${c.entity_id}`, c);
  }
  return replica;
}

/** The family's live rows as `type:id -> version`, read in SQL. */
async function stateOf(sql: Client, familyId: string): Promise<Map<string, number>> {
  const tables = {
    task: 'tasks',
    event: 'events',
    points_ledger: 'points_ledger',
    user_streak: 'user_streaks',
    badge: 'badges',
    conflict: 'conflicts',
  };
  const state = new Map<string, number>();
  for (const [type, table] of Object.entries(tables)) {
    const { rows } = await sql.query(`SELECT id, version FROM ${table} WHERE family_id = $1 AND deleted_us IS NULL`, [familyId]);
    for (const r of rows) state.set(`${type}:${r.id}`, r.version);
  }
  return state;
}

const badgeUpdate = (i: number, bytes: number) =>
  change({ entity_type: 'badge', entity_id: `bob:b${i}`, action: 'update', data: { code: 'x'.repeat(bytes) }, client_timestamp: TS });

describe('a pull page has a byte bound (SYNC_MAX_PAGE_BYTES)', () => {
  let t: TestApp;
  let sql: Client;
  // The inbox keeps the 2 MB values here, so that pages must be cut by bytes.
  beforeAll(async () => {
    t = await startTestApp({ SYNC_MAX_PAGE_BYTES: '3mb', SYNC_MAX_REJECTED_BYTES: '4mb', SYNC_RATE_LIMIT: '0' });
    sql = await sqlClient(t, 'e2e-limits');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('12 rejected 2 MB values and one of 3.5 MB: every page under the limit (the larger alone), the replica equals the state', async () => {
    const f = await createFamily(t, 'alice');
    await syncOk(t, f.token(), {
      device_id: 'a',
      changes: [change({ entity_id: 'small-1', data: { title: 'one' }, client_timestamp: TS })],
    });
    for (let i = 0; i < 12; i++) {
      const res = await syncOk(t, f.token(), { device_id: 'a', changes: [badgeUpdate(i, 2 * MB)] });
      expect(res.conflicts).toHaveLength(1);
    }
    await syncOk(t, f.token(), { device_id: 'a', changes: [badgeUpdate(99, 3.5 * MB)] });
    await syncOk(t, f.token(), {
      device_id: 'a',
      changes: [change({ entity_id: 'small-2', data: { title: 'two' }, client_timestamp: TS })],
    });

    const pages = await pullPages(t, f.token(), 'fresh');
    const sizes = pages.map(pageBytes);
    const oversized = pages.filter((p) => pageBytes(p) > 3 * MB);
    // Only the 3.5 MB entry may pass the limit, and only alone in its page.
    expect(oversized.map((p) => p.server_changes.map((c) => c.entity_type))).toEqual([['conflict']]);
    expect(sizes.length).toBeGreaterThanOrEqual(13);
    expect(pages.slice(0, -1).every((p) => p.has_more)).toBe(true);
    const replica = replicaOf(pages);
    expect(new Map([...replica].map(([k, c]) => [k, c.version]))).toEqual(await stateOf(sql, f.familyId));
    // Each entity arrived exactly once.
    const keys = pages.flatMap((p) => p.server_changes.map((c) => `${c.entity_type}:${c.entity_id}`));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('an incremental pull is cut the same way, and the limit still applies', async () => {
    const f = await createFamily(t, 'alice');
    const [first] = await pullPages(t, f.token(), 'd');
    for (let i = 0; i < 3; i++) await syncOk(t, f.token(), { device_id: 'a', changes: [badgeUpdate(i, 2 * MB)] });
    const pages = await pullPages(t, f.token(), 'd', first.last_sync_at);
    expect(pages.map((p) => p.server_changes.length)).toEqual([1, 1, 1]);
    expect(pages.map((p) => p.has_more)).toEqual([true, true, false]);
  });
});

describe('the inbox keeps bounded values of server-owned types (SYNC_MAX_REJECTED_BYTES)', () => {
  let t: TestApp;
  let sql: Client;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    sql = await sqlClient(t, 'e2e-limits-inbox');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('a 2 MB badge update is a conflict whose entry says how large it was; a small one keeps its value', async () => {
    const f = await createFamily(t, 'alice');
    const big = await syncOk(t, f.token(), { device_id: 'a', changes: [badgeUpdate(1, 2 * MB)] });
    expect(big.conflicts).toEqual([expect.objectContaining({ entity_type: 'badge', resolution: 'server_wins' })]);
    await syncOk(t, f.token(), { device_id: 'a', changes: [badgeUpdate(2, 10)] });
    const { rows } = await sql.query(`SELECT data->'rejected' AS rejected FROM conflicts WHERE family_id = $1 ORDER BY changed_us`, [
      f.familyId,
    ]);
    expect(rows.map((r) => r.rejected)).toEqual([{ truncated: true, bytes: 2 * MB + 11 }, { code: 'x'.repeat(10) }]);
    const pages = await pullPages(t, f.token(), 'fresh');
    expect(pages.map(pageBytes).reduce((a, b) => a + b)).toBeLessThan(4096);
  });
});

describe('watermarks this database never issued (PROTOCOL 2.13)', () => {
  let t: TestApp;
  let sql: Client;
  let f: FamilyFixture;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    sql = await sqlClient(t, 'e2e-limits-watermark');
    f = await createFamily(t, 'alice');
    await syncOk(t, f.token(), {
      device_id: 'a',
      changes: [1, 2, 3].map((i) => change({ entity_id: `w${i}`, data: { title: `t${i}` }, client_timestamp: TS })),
    });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it.each(['9999-01-01T00:00:00Z', '2300-01-01T00:00:00Z', '2100-06-01T12:00:00.123456+02:00'])(
    '%s (far future): resync_required with the full state, pull-only and with a push',
    async (watermark) => {
      const pulled = await syncOk(t, f.token(), { device_id: 'future', last_sync_at: watermark });
      expect(pulled).toMatchObject({ resync_required: true, has_more: false });
      expect(pulled.server_changes.map((c) => c.entity_id)).toEqual(expect.arrayContaining(['w1', 'w2', 'w3']));
      const next = await syncOk(t, f.token(), { device_id: 'future', last_sync_at: pulled.last_sync_at });
      expect(next).toMatchObject({ resync_required: false, server_changes: [] });

      const id = `p-${Math.random()}`;
      const pushed = await syncOk(t, f.token(), {
        device_id: 'future',
        last_sync_at: watermark,
        changes: [change({ entity_id: id, data: { title: 'from the future' }, client_timestamp: TS })],
      });
      expect(pushed).toMatchObject({ resync_required: true, applied: [{ entity_id: id, version: 1 }] });
      expect(pushed.server_changes.map((c) => c.entity_id)).toEqual(expect.arrayContaining(['w1', 'w2', 'w3']));
    },
  );

  it.each(['0000-12-31T00:00:00Z', '9999-12-31T23:00:00-05:00', '0001-01-01T00:30:00+01:00'])(
    '%s (outside years 1..9999 in UTC): 400 naming last_sync_at, nothing applied',
    async (watermark) => {
      const res = await delta(t, f.token(), {
        device_id: 'odd',
        last_sync_at: watermark,
        changes: [change({ entity_id: 'never', data: { title: 'x' }, client_timestamp: TS })],
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('last_sync_at');
      const { rows } = await sql.query(`SELECT 1 FROM tasks WHERE family_id = $1 AND id = 'never'`, [f.familyId]);
      expect(rows).toEqual([]);
    },
  );

  it('after a restore from backup (the family position rolled back), a newer watermark answers the whole state once', async () => {
    const g = await createFamily(t, 'alice');
    await syncOk(t, g.token(), { device_id: 'a', changes: [change({ entity_id: 'kept', data: { title: 'k' }, client_timestamp: TS })] });
    const { rows: before } = await sql.query('SELECT last_us FROM family_sync_state WHERE family_id = $1', [g.familyId]);
    await syncOk(t, g.token(), { device_id: 'a', changes: [change({ entity_id: 'lost', data: { title: 'l' }, client_timestamp: TS })] });
    const device = await syncOk(t, g.token(), { device_id: 'phone' });
    expect(device.server_changes.map((c) => c.entity_id).sort()).toEqual(['kept', 'lost']);

    // The backup was taken before 'lost' was written.
    await sql.query(`DELETE FROM tasks WHERE family_id = $1 AND id = 'lost'`, [g.familyId]);
    await sql.query('UPDATE family_sync_state SET last_us = $2 WHERE family_id = $1', [g.familyId, before[0].last_us]);

    const again = await syncOk(t, g.token(), { device_id: 'phone', last_sync_at: device.last_sync_at });
    expect(again).toMatchObject({ resync_required: true, has_more: false });
    expect(again.server_changes.map((c) => c.entity_id)).toEqual(['kept']);
    const settled = await syncOk(t, g.token(), { device_id: 'phone', last_sync_at: again.last_sync_at });
    expect(settled).toMatchObject({ resync_required: false, server_changes: [] });
  });

  it('a watermark the service returned never triggers it (echoed through pushes and pulls)', async () => {
    let cursor: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res: DeltaResponseDto = await syncOk(t, f.token(), {
        device_id: 'echo',
        last_sync_at: cursor,
        changes: i % 2 ? [change({ entity_id: `e${i}`, data: { title: 'e' }, client_timestamp: TS })] : [],
      });
      if (cursor !== null) expect(res.resync_required).toBe(false);
      cursor = res.last_sync_at;
    }
    const res = await request(t.server).post('/sync/delta').set(bearer(f.token())).send({ device_id: 'echo', last_sync_at: cursor });
    expect(res.body.resync_required).toBe(false);
  });
});
