import { MemoryStorage } from '@delta-sync/client';
import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { CrashingStorage, Exchange, recordingFetch, replicaState, sdkClient, serverState } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The client SDK catching up after losing its place: a crash between receiving a page and
 * storing it, and a device behind the tombstone horizon that must resync.
 */
describe('client SDK recovery', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  it('a crash between receiving a page and storing it repeats that page: a new client on the same storage does not skip it', async () => {
    const f = await createFamily(t);
    const writer = await sdkClient(t, f, 'writer');
    for (let i = 0; i < 7; i++) await writer.create('task', `p${i}`, { title: `p${i}` });
    await writer.sync();

    const disk = new MemoryStorage();
    const crashing = new CrashingStorage(disk);
    const first = await sdkClient(t, f, 'reader', { storage: crashing, pageLimit: 3 });
    await first.sync(); // pages 1..3: all seven tasks
    await writer.update('task', 'p1', { desc: 'later' });
    await writer.create('task', 'p7', { title: 'p7' });
    await writer.sync();
    // The next page arrives, and the app dies while storing it.
    crashing.crashOn = (w) => (w.putEntities?.length ?? 0) > 0;
    await expect(first.sync()).rejects.toThrow('simulated crash');
    const watermarkOnDisk = (await disk.load()).lastSyncAt;

    const log: Exchange[] = [];
    const second = await sdkClient(t, f, 'reader', { storage: disk, pageLimit: 3, fetch: recordingFetch(log) });
    expect(second.lastSyncAt).toBe(watermarkOnDisk);
    await second.sync();
    expect(JSON.parse(log[0].body).last_sync_at).toBe(watermarkOnDisk);
    expect(second.get('task', 'p1')?.data.desc).toBe('later');
    expect(second.get('task', 'p7')).toBeDefined();
    expect(replicaState(second)).toEqual(await serverState(t, f.familyId));
    await Promise.all([writer.stop(), first.stop(), second.stop()]);
  });

  // Last: purging tombstones touches every family of this suite's database.
  it('behind the tombstone horizon: resync_required replaces the replica and keeps the unsynced changes, which are sent and applied', async () => {
    const f = await createFamily(t);
    const other = await sdkClient(t, f, 'other');
    const log: Exchange[] = [];
    const client = await sdkClient(t, f, 'old-phone', { fetch: recordingFetch(log) });
    for (const id of ['h1', 'h2', 'h3']) await other.create('task', id, { title: id });
    await other.sync();
    await client.sync();
    expect(client.list('task')).toHaveLength(3);
    await other.delete('task', 'h2');
    await other.update('task', 'h3', { desc: 'after' });
    await other.sync();
    expect(await t.app.get(SyncMaintenanceService).purgeTombstones(0)).toBeGreaterThanOrEqual(1);

    // Offline edits made before the resync survive it.
    await client.update('task', 'h1', { desc: 'mine' });
    await client.create('task', 'h4', { title: 'new offline' });
    await client.sync();
    expect(log.map((e) => JSON.parse(e.response ?? '{}').resync_required)).toContain(true);
    await other.sync();
    const server = await serverState(t, f.familyId);
    expect(server['task:h2']).toBeUndefined();
    expect(server['task:h1'].data).toMatchObject({ desc: 'mine' });
    expect(server['task:h4']).toBeDefined();
    expect(replicaState(client)).toEqual(server);
    expect(client.get('task', 'h2')).toBeUndefined();
    await Promise.all([other.stop(), client.stop()]);
  });
});
