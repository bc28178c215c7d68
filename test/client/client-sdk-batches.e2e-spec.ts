import { DataSource } from 'typeorm';
import { ErrorEvent, MemoryStorage, OutgoingChange } from '@delta-sync/client';
import { Exchange, recordingFetch, sdkClient, sentChanges, serverState } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

const create = (i: number, data: Record<string, unknown>): OutgoingChange => ({
  change_id: `batch-c${i}`,
  entity_type: 'task',
  entity_id: `b-${i}`,
  action: 'create',
  data,
  client_timestamp: new Date().toISOString(),
});
const statuses = (log: Exchange[]) => log.map((e) => e.status);
const sentIds = (log: Exchange[]) => sentChanges(log).flatMap((changes) => changes.map((c) => c.entity_id));

async function receiptsPerEntity(t: TestApp, familyId: string): Promise<number[]> {
  const rows: { n: string }[] = await t.app
    .get(DataSource)
    .query(`SELECT count(*) AS n FROM sync_receipts WHERE family_id = $1 GROUP BY entity_type, entity_id`, [familyId]);
  return rows.map((r) => Number(r.n));
}

/**
 * Batches the server refuses as a whole (issue 24): a body over SYNC_MAX_BODY (413), more
 * changes than SYNC_MAX_BATCH (400 batch_too_large) and one malformed change (400) no
 * longer stall the outbox; the client sends smaller batches and reports the refused
 * change alone. Refused requests apply nothing, so every change is applied once.
 */
describe('client SDK and refused batches', () => {
  describe('default server limits (5 MB body, 500 changes)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    });
    afterAll(() => t?.close());

    it('500 creates totalling > 5 MB (long non-Latin descriptions) all apply with at most one 413', async () => {
      const f = await createFamily(t);
      const log: Exchange[] = [];
      const client = await sdkClient(t, f, 'big-1', { fetch: recordingFetch(log), requestTimeoutMs: 120_000 });
      const desc = 'журнал '.repeat(800);
      for (let i = 0; i < 500; i++) await client.create('task', `big-${i}`, { title: `big ${i}`, desc });
      const bytes = Buffer.byteLength(JSON.stringify(client.pending()));
      expect(bytes).toBeGreaterThan(5 * 1024 * 1024);
      await client.sync();
      expect(client.pending()).toEqual([]);
      expect(statuses(log).filter((s) => s === 413).length).toBeLessThanOrEqual(1);
      expect(Object.keys(await serverState(t, f.familyId))).toHaveLength(500);
      process.stdout.write(`batches: ${(bytes / 1e6).toFixed(1)} MB in ${log.length} requests, statuses ${statuses(log).join(',')}\n`);
      await client.stop();
    }, 120_000);

    it('a malformed change in a batch: the batch is split down to it, it is reported as a change error, the rest applies once', async () => {
      const f = await createFamily(t);
      const storage = new MemoryStorage();
      // An outbox written by an older client: the third change, a task update without its version, is malformed (400).
      const bad: OutgoingChange = { ...create(2, { title: 'no version' }), action: 'update' };
      await storage.write({ putOutbox: [0, 1, 2, 3, 4, 5, 6].map((i) => (i === 2 ? bad : create(i, { title: `ok ${i}` }))) });
      const log: Exchange[] = [];
      const client = await sdkClient(t, f, 'malformed-1', { storage, fetch: recordingFetch(log) });
      const errors: ErrorEvent[] = [];
      client.on('error', (e) => errors.push(e));
      await client.sync();

      expect(client.pending()).toEqual([]);
      expect(errors).toEqual([expect.objectContaining({ kind: 'change', change: expect.objectContaining({ entity_id: 'b-2' }) })]);
      expect(Object.keys(await serverState(t, f.familyId)).sort()).toEqual([
        'task:b-0',
        'task:b-1',
        'task:b-3',
        'task:b-4',
        'task:b-5',
        'task:b-6',
      ]);
      expect(await receiptsPerEntity(t, f.familyId)).toEqual([1, 1, 1, 1, 1, 1]);
      expect(statuses(log).filter((s) => s === 400).length).toBeLessThanOrEqual(4);
      process.stdout.write(`malformed change: statuses ${statuses(log).join(',')}\n`);
      await client.stop();
    });
  });

  describe('a server with lower limits (SYNC_MAX_BODY 512kb, SYNC_MAX_BATCH 50)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ SYNC_RATE_LIMIT: '0', SYNC_MAX_BODY: '512kb', SYNC_MAX_BATCH: '50' });
    });
    afterAll(() => t?.close());

    it("maxBatch follows the server's batch_too_large; a 413 halves the batch until it fits", async () => {
      const f = await createFamily(t);
      const log: Exchange[] = [];
      const client = await sdkClient(t, f, 'limited-body-1', { fetch: recordingFetch(log) });
      for (let i = 0; i < 120; i++) await client.create('task', `small-${i}`, { title: `small ${i}` });
      await client.sync();
      expect(statuses(log)).toEqual([400, 200, 200, 200]);
      expect(JSON.parse(log[0].response!)).toMatchObject({ error: 'batch_too_large', details: { max: 50 } });

      log.length = 0;
      const desc = 'ж'.repeat(9000);
      for (let i = 0; i < 40; i++) await client.create('task', `large-${i}`, { title: `large ${i}`, desc });
      await client.sync();
      expect(statuses(log)[0]).toBe(413);
      expect(statuses(log).filter((s) => s === 413)).toHaveLength(1);
      expect(new Set(sentIds(log.slice(1))).size).toBe(40);
      expect(client.pending()).toEqual([]);
      expect(Object.keys(await serverState(t, f.familyId))).toHaveLength(160);
      process.stdout.write(`512 KB server: 40 x 18 KB in statuses ${statuses(log).join(',')}\n`);
      await client.stop();
    });
  });
});
