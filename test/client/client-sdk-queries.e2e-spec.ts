import { DeltaResponse } from '@delta-sync/client';
import { Exchange, recordingFetch, sdkClient } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Live queries against the real service (issue 30): another device pushes, this one pulls
 * in pages, and a subscribed query is told once per page that changes its rows, never for
 * a page or a push that does not.
 */
describe('client SDK live queries against the server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  it("another device's push of 25 tasks, pulled in pages of 10: one notification per page", async () => {
    const f = await createFamily(t, 'alice');
    await f.addMember('bob');
    const log: Exchange[] = [];
    const writer = await sdkClient(t, f, 'writer-phone');
    const watcher = await sdkClient(t, f, 'watcher-tablet', { user: 'bob', fetch: recordingFetch(log), pageLimit: 10 });
    try {
      await watcher.sync();
      const open = watcher.query('task', { where: { status: 'open' }, orderBy: [{ field: 'points', desc: true }, 'title'], limit: 50 });
      const events = watcher.query('event');
      const taskPages: number[] = [];
      const eventPages: number[] = [];
      open.subscribe((rows) => taskPages.push(rows.length));
      events.subscribe((rows) => eventPages.push(rows.length));

      for (let i = 0; i < 25; i++)
        await writer.create('task', `q-${i}`, { title: `task ${i}`, points: i, status: i % 5 === 0 ? 'in_progress' : 'open' });
      await writer.sync();
      log.length = 0;
      await watcher.sync();

      const pages = log.map((e) => JSON.parse(e.response!) as DeltaResponse);
      expect(pages.map((p) => p.server_changes.length)).toEqual([10, 10, 5]);
      expect(taskPages).toEqual([8, 16, 20]);
      expect(eventPages).toEqual([]);
      expect(open.current.map((e) => e.data.points)).toEqual([24, 23, 22, 21, 19, 18, 17, 16, 14, 13, 12, 11, 9, 8, 7, 6, 4, 3, 2, 1]);

      // A push that touches no open task: the rows keep their identity and nobody is told.
      const before = open.current;
      await writer.create('event', 'party', { title: 'party', start: '2026-01-01' });
      await writer.update('task', 'q-0', { title: 'still in progress' });
      await writer.sync();
      await watcher.sync();
      expect(open.current).toBe(before);
      expect(taskPages).toHaveLength(3);
      expect(eventPages).toEqual([1]);

      // The watcher's own edit is one notification at once (it leaves the rows); its push's answer then settles it.
      await watcher.update('task', 'q-24', { status: 'in_progress' });
      expect(taskPages).toEqual([8, 16, 20, 19]);
      await watcher.sync();
      expect(open.current[0].data.points).toBe(23);
    } finally {
      await Promise.all([writer.stop(), watcher.stop()]);
    }
  });
});
