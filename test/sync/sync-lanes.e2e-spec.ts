import { Client } from 'pg';
import { sqlClient } from '../support/db-state';
import { familyRows, LANE_OF, LaneDevice, seedLedger } from '../support/lanes-helpers';
import { metricsText, sample } from '../support/operations-helpers';
import { change, createFamily, delta, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** PROTOCOL 2.9: sync lanes. A device far behind gets lane 0 first; the watermark never passes an undelivered change. */
describe('sync lanes (PROTOCOL 2.9)', () => {
  let t: TestApp;
  let sql: Client;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
    sql = await sqlClient(t, 'e2e-lanes');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const typeOf = (c: { entity_type: string }) => c.entity_type;

  /** A family whose device `behind` synced when it was empty, then 3,000 ledger rows and one task were committed. */
  async function behindLedger(name: string): Promise<{ f: FamilyFixture; watermark: string }> {
    const f = await createFamily(t, 'alice', name);
    const first = await syncOk(t, f.token(), { device_id: 'behind' });
    await seedLedger(sql, f.familyId, 3000);
    await syncOk(t, f.token(), { device_id: 'writer', changes: [change({ entity_id: 'today', data: { title: 'Today' } })] });
    return { f, watermark: first.last_sync_at };
  }

  it('a device behind 3,000 ledger rows gets the new task in its first page of 100; without lanes, commit order', async () => {
    const { f, watermark } = await behindLedger('Lanes first page');
    const plain = await syncOk(t, f.token(), { device_id: 'behind', last_sync_at: watermark, limit: 100 });
    expect(plain.server_changes.map(typeOf)).toEqual(Array(100).fill('points_ledger'));
    expect(plain).not.toHaveProperty('lanes');
    expect(plain).not.toHaveProperty('backlog');

    const laned = await syncOk(t, f.token(), { device_id: 'behind', last_sync_at: watermark, lanes: {}, limit: 100 });
    expect(laned.server_changes[0]).toMatchObject({ entity_type: 'task', entity_id: 'today', action: 'create' });
    expect(laned.server_changes.slice(1).map(typeOf)).toEqual(Array(99).fill('points_ledger'));
    expect(laned.has_more).toBe(true);
    // Lane 0 is delivered to the end, lane 2 up to its 99th row: the watermark is lane 2's, lane 0's cursor is above it.
    expect(laned.last_sync_at).toBe(laned.server_changes[99]!.server_timestamp);
    expect(Object.keys(laned.lanes!)).toEqual(['0', '1']);
    expect(laned.backlog).toEqual({ 0: 0, 1: 0, 2: 2901 });
  });

  it('paging to the end delivers every row exactly once, and each backlog matches the pages that follow', async () => {
    const { f, watermark } = await behindLedger('Lanes paging');
    const device = new LaneDevice('behind', f.token());
    device.lastSyncAt = watermark;
    const backlogs: number[][] = [];
    const counts: number[][] = [];
    for (let more = true; more;) {
      const res = await device.page(t, 250);
      backlogs.push([res.backlog![0], res.backlog![1], res.backlog![2]]);
      counts.push([0, 1, 2].map((lane) => res.server_changes.filter((c) => LANE_OF[c.entity_type] === lane).length));
      more = res.has_more;
    }
    expect(device.pages).toBe(13);
    for (let i = 0; i < backlogs.length; i++) {
      const following = counts.slice(i + 1).reduce((sum, c) => sum.map((n, lane) => n + c[lane]!), [0, 0, 0]);
      expect(backlogs[i]).toEqual(following);
    }
    expect(new Set(device.applied).size).toBe(device.applied.length);
    expect(device.applied).toHaveLength(3001);
    expect(device.lanes).toEqual({});
    expect(device.missing(await familyRows(sql, f.familyId))).toEqual([]);
    expect(sample(await metricsText(t), 'sync_backlog_entities_count')).toBeGreaterThan(0);
  });

  it('a first sync goes lane by lane too, and ends with the whole state', async () => {
    const { f } = await behindLedger('Lanes first sync');
    const device = new LaneDevice('new-phone', f.token());
    const first = await device.page(t, 100);
    expect(first.server_changes[0]).toMatchObject({ entity_type: 'task', entity_id: 'today' });
    expect(first.resync_required).toBe(false);
    while ((await device.page(t, 1000)).has_more);
    const rows = await familyRows(sql, f.familyId);
    expect(device.replica.size).toBe([...rows.values()].filter((r) => !r.deleted).length);
    expect(device.missing(rows)).toEqual([]);
  });

  /** Pages of 100 until the 2,000 seeded ledger rows are delivered, `perPage` new lane-0 tasks committed before each page. */
  async function drainWhileBusy(name: string, perPage: number): Promise<number> {
    const f = await createFamily(t, 'alice', name);
    const first = await syncOk(t, f.token(), { device_id: 'slow' });
    await seedLedger(sql, f.familyId, 2000);
    const device = new LaneDevice('slow', f.token());
    device.lastSyncAt = first.last_sync_at;
    const ledger = () => device.applied.filter((k) => k.startsWith('points_ledger/')).length;
    let pages = 0;
    while (pages < 100 && ledger() < 2000) {
      const changes = Array.from({ length: perPage }, (_, i) => change({ entity_id: `busy-${pages}-${i}`, data: { title: `busy ${i}` } }));
      await syncOk(t, f.token(), { device_id: 'busy-writer', changes });
      await device.page(t, 100);
      pages++;
      expect(device.missing(await familyRows(sql, f.familyId))).toEqual([]);
    }
    expect(ledger()).toBe(2000);
    expect(new Set(device.applied).size).toBe(device.applied.length);
    return pages;
  }

  it('fairness: a 2,000-row lane-2 backlog drains within 100 pages while 50 lane-0 tasks arrive between pages', async () => {
    expect(await drainWhileBusy('Lanes fairness 50', 50)).toBeLessThanOrEqual(100);
  });

  it('fairness: lane 2 gets a quarter of each page even when lane 0 gets more new rows than a page holds', async () => {
    // 150 lane-0 tasks per page of 100: lane by lane alone, lane 2 would never get a row.
    expect(await drainWhileBusy('Lanes fairness 150', 150)).toBe(80);
  });

  it('a lane cursor beyond the family position answers a full state (resync), never an error', async () => {
    const f = await createFamily(t, 'alice', 'Lanes ahead');
    await syncOk(t, f.token(), { device_id: 'writer', changes: [change({ entity_id: 'a', data: { title: 'A' } })] });
    const now = await syncOk(t, f.token(), { device_id: 'd', lanes: {} });
    const ahead = new Date(Date.now() + 86_400_000).toISOString().replace('Z', '000Z');
    const res = await syncOk(t, f.token(), { device_id: 'd', last_sync_at: now.last_sync_at, lanes: { 2: ahead } });
    expect(res.resync_required).toBe(true);
    expect(res.server_changes.map((c) => c.entity_id)).toEqual(['a']);
    expect(res.lanes).toEqual({});
  });

  it('SYNC_TYPE_PRIORITIES moves types between lanes; a type that is not registered stops the start, naming it', async () => {
    await expect(startTestApp({ SYNC_TYPE_PRIORITIES: 'task=1,chores=2' })).rejects.toThrow('SYNC_TYPE_PRIORITIES names "chores"');
    const swapped = await startTestApp({ SYNC_TYPE_PRIORITIES: 'points_ledger=0,task=2' }, { db: t.db });
    try {
      const f = await createFamily(swapped, 'alice', 'Lanes swapped');
      const first = await syncOk(swapped, f.token(), { device_id: 'behind' });
      await syncOk(swapped, f.token(), { device_id: 'writer', changes: [change({ entity_id: 'early', data: { title: 'Early' } })] });
      await seedLedger(sql, f.familyId, 10);
      const page = await syncOk(swapped, f.token(), { device_id: 'behind', last_sync_at: first.last_sync_at, lanes: {}, limit: 20 });
      expect(page.server_changes.map(typeOf)).toEqual([...Array(10).fill('points_ledger'), 'task']);
    } finally {
      await swapped.close();
    }
  });

  it('refuses lane cursors without last_sync_at, and lanes that do not exist (400 naming the field)', async () => {
    const f = await createFamily(t, 'alice', 'Lanes refused');
    const when = '2025-11-11T15:00:00.000000Z';
    const noWatermark = await delta(t, f.token(), { lanes: { 0: when } });
    expect(noWatermark.status).toBe(400);
    expect(JSON.stringify(noWatermark.body)).toContain('lanes.0');
    const bad = await delta(t, f.token(), { last_sync_at: when, lanes: { 7: when } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('lanes.7');
  });
});
