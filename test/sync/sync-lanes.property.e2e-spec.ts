import fc from 'fast-check';
import { TransactionRunner } from '@app/database';
import { SyncMaintenanceRepository } from '../../apps/api/src/sync/maintenance/sync-maintenance.repository';
import { SyncRegistry } from '../../apps/api/src/sync/sync-registry.service';
import { Client } from 'pg';
import { postDelta, prng } from '../support/concurrency-helpers';
import { learn, sharedSeedChanges, Writer, writerChanges } from '../support/concurrency-writer-helpers';
import { sqlClient } from '../support/db-state';
import { familyRows, LaneDevice, seedLedger } from '../support/lanes-helpers';
import { createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Property (PROTOCOL 2.9, 2.10): whatever the writers do, whatever the page sizes, with page
 * answers lost and pushes committing while a page is read, a device that pulls with lanes
 * and/or patches (both drawn) gets every change exactly once, never holds a watermark or lane
 * cursor past a change it was not given (data included: patches merged over what it held
 * equal the tables), and ends with a replica equal to the tables. Writers push tasks (done
 * ones make ledger rows, streaks and badges) and events, with stale versions (conflict
 * entries) and deletes.
 */
const RUNS = Number(process.env.LANES_RUNS ?? 10);
jest.setTimeout(Math.max(120_000, RUNS * 20_000));

const step = fc.record({
  writes: fc.integer({ min: 0, max: 3 }),
  /** Pushes that run while the page is read. */
  during: fc.integer({ min: 0, max: 2 }),
  limit: fc.integer({ min: 1, max: 60 }),
  lost: fc.boolean(),
  /** 0: the family's tombstones are purged first (a reader behind the new horizon resyncs). */
  purge: fc.integer({ min: 0, max: 7 }),
});

describe('sync lanes and patches (property)', () => {
  let t: TestApp;
  let sql: Client;
  let runs = 0;
  let patched = 0;
  let resyncs = 0;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
    sql = await sqlClient(t, 'e2e-lanes-property');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  /** The maintenance purge of every tombstone of the family so far (its horizon moves past them). */
  async function purgeTombstones(familyId: string): Promise<void> {
    const tables = t.app
      .get(SyncRegistry)
      .all()
      .map((e) => e.resolver.table);
    await t.app
      .get(TransactionRunner)
      .run((tx) => t.app.get(SyncMaintenanceRepository).purgeFamily(tx, familyId, tables, Date.now() * 1000 + 1e9));
  }

  it('every change exactly once, no cursor past an undelivered change, replica = tables', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 5, maxLength: 14 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer(),
        fc.boolean(),
        async (steps, backlog, seed, lanes) => {
          runs++;
          const rng = prng(seed);
          const f = await createFamily(t, 'alice', `Lanes property ${runs}`);
          await f.addMember('bob');
          const at = new Date(Date.now() - 60_000).toISOString();
          await syncOk(t, f.token(), {
            device_id: 'seeder',
            changes: sharedSeedChanges(at),
          });
          await seedLedger(sql, f.familyId, backlog);
          const writers: Writer[] = ['alice', 'bob'].map((user) => ({
            deviceId: `${user}-writer`,
            token: f.token(user),
            watermark: null,
            versions: new Map(),
            deleted: new Set(),
            ownTasks: [],
            ownEvents: [],
            seq: 0,
          }));
          const write = async () => {
            const w = writers[rng.int(0, writers.length - 1)]!;
            const body = { device_id: w.deviceId, last_sync_at: w.watermark, changes: writerChanges(w, rng) };
            const res = await postDelta(t, w.token, body);
            expect(res.status).toBe(200);
            learn(w, res.body);
          };
          // Two readers: patches on for one of them in every other run, lanes drawn for each.
          const readers = [
            new LaneDevice('reader', f.token('bob'), runs % 2 === 1, lanes),
            new LaneDevice('reader-2', f.token('alice'), true, !lanes),
          ];
          for (const s of steps) {
            if (s.purge === 0) await purgeTombstones(f.familyId);
            for (let i = 0; i < s.writes; i++) await write();
            const [reader, other] = s.limit % 2 === 0 ? readers : [readers[1]!, readers[0]!];
            await Promise.all([reader!.page(t, s.limit, s.lost), other!.page(t, s.limit + 3), ...Array.from({ length: s.during }, write)]);
            const rows = await familyRows(sql, f.familyId);
            for (const d of readers) expect(d.missing(rows)).toEqual([]);
          }
          for (const d of readers) while ((await d.page(t, 200)).has_more);
          // Caught up (has_more false): the next changes of entities they hold can come as patches.
          for (let i = 0; i < 3; i++) await write();
          for (const d of readers) while ((await d.page(t, 200)).has_more);
          const rows = await familyRows(sql, f.familyId);
          const live = [...rows.values()]
            .filter((r) => !r.deleted)
            .map((r) => r.key)
            .sort();
          for (const d of readers) {
            expect(d.missing(rows)).toEqual([]);
            expect(d.lanes).toEqual({});
            expect([...d.replica.keys()].sort()).toEqual(live);
            expect(new Set(d.applied).size).toBe(d.applied.length);
            patched += d.patched;
            resyncs += d.resyncs;
          }
        },
      ),
      { numRuns: RUNS, seed: process.env.LANES_SEED ? Number(process.env.LANES_SEED) : undefined, path: process.env.LANES_PATH },
    );
    expect(runs).toBe(RUNS);
    // The runs with patches on did get patches (not only full entries).
    expect(patched).toBeGreaterThan(0);
    expect(resyncs).toBeGreaterThan(0);
    console.log(`lanes and patches: ${runs} runs, ${patched} patches applied, ${resyncs} resyncs after a purge`);
  });
});
