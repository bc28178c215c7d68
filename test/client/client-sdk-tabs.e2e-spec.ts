import { IDBFactory } from 'fake-indexeddb';
import { DataSource } from 'typeorm';
import { ChangeEvent, IndexedDbStorage } from '@delta-sync/client';
import { Exchange, recordingFetch, sdkClient, sentChanges, serverState } from '../support/client-sdk';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Many tabs, one device (issue 24): clients on one IndexedDB database (fake-indexeddb,
 * one factory = one browser profile) share its outbox and replica. One leader syncs
 * (here through the storage lease: Node has no Web Locks), the others store their edits
 * and ask it; every tab hears of every change over BroadcastChannel.
 */
describe('client SDK: tabs of one device on one IndexedDB database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  const tab = (f: FamilyFixture, indexedDB: InstanceType<typeof IDBFactory>, name: string, log: Exchange[] = []) =>
    sdkClient(t, f, `device-${name}`, { storage: new IndexedDbStorage({ indexedDB, name }), fetch: recordingFetch(log) });

  async function receiptsPerEntity(familyId: string): Promise<Record<string, number>> {
    const rows: { entity_id: string; n: string }[] = await t.app
      .get(DataSource)
      .query('SELECT entity_id, count(*) AS n FROM sync_receipts WHERE family_id = $1 GROUP BY entity_id', [familyId]);
    return Object.fromEntries(rows.map((r) => [r.entity_id, Number(r.n)]));
  }

  it('two tabs make 50 edits each, then close; reopening shows all 100, each applied exactly once on the server', async () => {
    const f = await createFamily(t);
    const indexedDB = new IDBFactory();
    const logs: Exchange[][] = [[], []];
    const tabs = [await tab(f, indexedDB, 'tabs-1', logs[0]), await tab(f, indexedDB, 'tabs-1', logs[1])];
    const roles = tabs.map(() => '');
    tabs.forEach((c, i) => c.on('status', (s) => (roles[i] = s.tab)));
    const seenInB = new Promise<number>((resolve) => {
      const at = Date.now();
      tabs[1].on('change', (e: ChangeEvent) => e.entity_id === 'A-0' && e.origin === 'tab' && resolve(Date.now() - at));
    });
    for (let i = 0; i < 50; i++) {
      await Promise.all([tabs[0].create('task', `A-${i}`, { title: `a ${i}` }), tabs[1].create('task', `B-${i}`, { title: `b ${i}` })]);
      if (i === 0) expect(await seenInB).toBeLessThan(1000);
      if (i % 10 === 9) await Promise.all(tabs.map((c) => c.sync()));
      if (i === 24) await tabs[1].update('task', 'A-3', { title: 'edited in the other tab' });
    }
    expect(roles.sort()).toEqual(['follower', 'leader']);
    // Only the leader sends.
    expect(logs.filter((l) => l.length > 0)).toHaveLength(1);
    expect(tabs[1].get('task', 'A-49')).toBeDefined();
    await Promise.all(tabs.map((c) => c.stop()));

    const reopened = await tab(f, indexedDB, 'tabs-1');
    await reopened.sync();
    expect(reopened.pending()).toEqual([]);
    expect(reopened.list('task')).toHaveLength(100);
    const server = await serverState(t, f.familyId);
    expect(Object.keys(server)).toHaveLength(100);
    expect(server['task:A-3'].data).toMatchObject({ title: 'edited in the other tab' });
    const receipts = await receiptsPerEntity(f.familyId);
    // One change per entity (A-3 also has the other tab's later update, sent after its create).
    expect(receipts).toEqual(Object.fromEntries(Object.keys(server).map((k) => [k.slice(5), k === 'task:A-3' ? 2 : 1])));
    const sent = sentChanges(logs.flat()).flat();
    expect(sent).toHaveLength(new Set(sent.map((c) => c.change_id)).size);
    await reopened.stop();
  });

  it('the leader closes with changes pending: another tab takes over and sends them, none twice', async () => {
    const f = await createFamily(t);
    const indexedDB = new IDBFactory();
    const log: Exchange[] = [];
    const first = await tab(f, indexedDB, 'tabs-2', log);
    const second = await tab(f, indexedDB, 'tabs-2', log);
    const [leader, follower] = first.status().tab === 'leader' ? [first, second] : [second, first];
    for (let i = 0; i < 10; i++) await leader.create('task', `L-${i}`, { title: `l ${i}` });
    for (let i = 0; i < 10; i++) await follower.create('task', `F-${i}`, { title: `f ${i}` });
    await leader.stop();
    const until = Date.now() + 5000;
    while (follower.status().tab !== 'leader' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(follower.status().tab).toBe('leader');
    await follower.sync();
    expect(follower.pending()).toEqual([]);
    expect(follower.list('task')).toHaveLength(20);
    expect(Object.keys(await serverState(t, f.familyId))).toHaveLength(20);
    const sent = sentChanges(log).flat();
    expect(sent).toHaveLength(20);
    expect(new Set(sent.map((c) => c.change_id)).size).toBe(20);
    await follower.stop();
  });
});
