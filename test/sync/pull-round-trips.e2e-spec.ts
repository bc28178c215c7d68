import { Client } from 'pg';
import { change, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * A sync without changes is one round trip to PostgreSQL (issue 32): BEGIN, the family's
 * clock, the page and COMMIT in one message, read with the plan of a device in step; a
 * device whose plan the clock changes (behind the horizon, ahead of the family, paging with
 * patches on) is pulled again the usual way, clock first. The messages are read off the driver the service uses.
 */

/** Every simple-protocol text the service sends while `work` runs. */
async function messagesDuring(work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = Client.prototype.query;
  const spy = function (this: Client, ...args: unknown[]) {
    if (typeof args[0] === 'string') sent.push(args[0]);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  Client.prototype.query = spy as typeof Client.prototype.query;
  try {
    await work();
  } finally {
    Client.prototype.query = original;
  }
  return sent;
}

/** The messages that read the family's clock for a pull (its membership join). */
const clockReads = (sent: string[]) => sent.filter((m) => m.includes('FROM family_members m LEFT JOIN family_sync_state s'));

describe('a sync without changes: one round trip', () => {
  let t: TestApp;
  let f: FamilyFixture;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    f = await createFamily(t, 'alice');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('first sync and incremental pulls: clock, page and COMMIT in one message, with the right pages', async () => {
    await syncOk(t, f.token(), {
      device_id: 'writer',
      changes: [1, 2, 3].map((i) => change({ entity_id: `r${i}`, data: { title: `t${i}` } })),
    });
    let first: Awaited<ReturnType<typeof syncOk>> | undefined;
    const sent = await messagesDuring(async () => {
      first = await syncOk(t, f.token(), { device_id: 'reader', limit: 2 });
    });
    expect(first).toMatchObject({ has_more: true, resync_required: false });
    expect(first!.server_changes.map((c) => c.entity_id)).toEqual(['r1', 'r2']);
    const [message, ...others] = clockReads(sent);
    expect(others).toEqual([]);
    expect(message).toMatch(/^BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT .*; EXECUTE sync_pull_state_\w+\(.*\); COMMIT$/s);

    // The next page (a continuation) and a pull after a new write: one message each, nothing missed or repeated.
    let second: Awaited<ReturnType<typeof syncOk>> | undefined;
    let third: Awaited<ReturnType<typeof syncOk>> | undefined;
    const later = await messagesDuring(async () => {
      second = await syncOk(t, f.token(), { device_id: 'reader', limit: 2, last_sync_at: first!.last_sync_at });
      await syncOk(t, f.token(), { device_id: 'writer', changes: [change({ entity_id: 'r4', data: { title: 't4' } })] });
      third = await syncOk(t, f.token(), { device_id: 'reader', limit: 2, last_sync_at: second!.last_sync_at });
    });
    expect(second!.server_changes.map((c) => c.entity_id)).toEqual(['r3']);
    expect(second!.has_more).toBe(false);
    expect(third!.server_changes.map((c) => c.entity_id)).toEqual(['r4']);
    expect(clockReads(later)).toHaveLength(2);
    for (const m of clockReads(later)) expect(m).toMatch(/; EXECUTE sync_pull_since_\w+\(.*\); COMMIT$/s);
  });

  it('patches on: one message for a device in step; a paging device reads its clock first, on any instance', async () => {
    const state = await syncOk(t, f.token(), { device_id: 'patcher' });
    let inStep: Awaited<ReturnType<typeof syncOk>> | undefined;
    const sent = await messagesDuring(async () => {
      inStep = await syncOk(t, f.token(), { device_id: 'patcher', last_sync_at: state.last_sync_at, patches: true });
    });
    expect(inStep).toMatchObject({ resync_required: false, server_changes: [] });
    expect(clockReads(sent)).toEqual([expect.stringMatching(/; EXECUTE sync_pull_since_patches_\w+\(.*\); COMMIT$/s)]);

    // A catch-up in pages of one with patches on: each continuation is a paging device.
    const other = await startTestApp({ SYNC_RATE_LIMIT: '0' }, { db: t.db });
    try {
      const since = (await syncOk(t, f.token(), { device_id: 'pager' })).last_sync_at;
      await syncOk(t, f.token(), {
        device_id: 'writer',
        changes: [5, 6, 7].map((i) => change({ entity_id: `r${i}`, data: { title: `t${i}` } })),
      });
      let page1: Awaited<ReturnType<typeof syncOk>> | undefined;
      let page2: Awaited<ReturnType<typeof syncOk>> | undefined;
      let page3: Awaited<ReturnType<typeof syncOk>> | undefined;
      const paging = await messagesDuring(async () => {
        page1 = await syncOk(t, f.token(), { device_id: 'pager', last_sync_at: since, limit: 1, patches: true });
        // This instance answered the cut page: it knows the device pages and reads the clock first.
        page2 = await syncOk(t, f.token(), { device_id: 'pager', last_sync_at: page1!.last_sync_at, limit: 1, patches: true });
        // Another instance does not: it reads the page in one message, the clock says the device pages, it pulls again.
        page3 = await syncOk(other, f.token(), { device_id: 'pager', last_sync_at: page2!.last_sync_at, limit: 1, patches: true });
      });
      expect([page1, page2, page3].map((p) => p!.server_changes.map((c) => c.entity_id))).toEqual([['r5'], ['r6'], ['r7']]);
      expect([page1, page2, page3].map((p) => p!.has_more)).toEqual([true, true, false]);
      const reads = clockReads(paging);
      // page 1: one message; page 2: the clock alone; page 3: one message (dropped), then the clock alone.
      expect(reads.map((m) => (m.includes('COMMIT') ? 'one message' : 'clock first'))).toEqual([
        'one message',
        'clock first',
        'one message',
        'clock first',
      ]);
    } finally {
      await other.close();
    }
  });

  it('a watermark ahead of the family: the page read in one message is dropped, the resync reads the clock first', async () => {
    let ahead: Awaited<ReturnType<typeof syncOk>> | undefined;
    const sent = await messagesDuring(async () => {
      ahead = await syncOk(t, f.token(), { device_id: 'ahead', last_sync_at: '2200-01-01T00:00:00.000000Z' });
    });
    expect(ahead).toMatchObject({ resync_required: true, has_more: false });
    expect(ahead!.server_changes.map((c) => c.entity_id)).toEqual(expect.arrayContaining(['r1', 'r2', 'r3', 'r4']));
    expect(clockReads(sent).map((m) => (m.includes('COMMIT') ? 'one message' : 'clock first'))).toEqual(['one message', 'clock first']);
  });
});
