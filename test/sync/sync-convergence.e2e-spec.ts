import fc from 'fast-check';
import { startTestApp, TestApp } from '../support/test-app';
import { createFamily } from '../support/sync-fixtures';
import { liveTasksAndEvents } from '../support/db-state';
import { replayAll } from '../support/replay-helpers';
import { Device, firstSync, onlyTasksAndEvents, scenarioArb, snapshot, stats } from '../support/convergence-model';

/**
 * Property: devices that edit offline and sync in any order converge (PROTOCOL 2, 2.1, 2.5).
 * Three simulated devices keep a replica and a queue of offline changes (create/update/delete
 * of tasks and events on a small id pool; updates carry the version the device last saw;
 * client timestamps random within a window, ties and clocks running ahead included). A
 * random interleaving of edits and syncs (some syncs of several devices in parallel) runs;
 * then every device flushes its queue and does a pull-only sync. All replicas must equal
 * each other, the first sync of a new device, and the tables.
 *
 * The client follows PROTOCOL.md only: a response is applied as
 *   1. its own changes, in order, as patches (what "applied" means when no data comes back:
 *      the change was based on the state the device had);
 *   2. `applied`: the new version, and the full `data` when the server sends it;
 *   3. `conflicts`: `server_version` / `server_data` (null = gone);
 *   4. `server_changes`: the current state (delete = remove), following `has_more`.
 *
 * The devices and the arbitraries are in test/support/convergence-model.ts.
 */

/** Every run is made (no time limit): the test asserts how many, and what they went through. */
const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 20);
// The project's testTimeout does not reach tests run with --selectProjects: set it here
// (20 runs take about 15 s on an idle 2-core machine; the margin is for a busy one).
jest.setTimeout(Math.max(180_000, RUNS * 9_000));

// ---------------------------------------------------------------------------------------

describe('sync convergence (property)', () => {
  let t: TestApp;
  let runs = 0;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
  });
  afterAll(() => t?.close());

  it('devices editing offline and syncing in any interleaving converge to the server state', async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ steps, limit }) => {
        runs++;
        const f = await createFamily(t, 'alice', `Convergence ${runs}`);
        const bobToken = await f.addMember('bob');
        const devices = [
          new Device('alice-phone', f.token('alice')),
          new Device('alice-laptop', f.token('alice')),
          new Device('bob-phone', bobToken),
        ];
        // Client times around the server's now: some before, some after the last write.
        const baseMs = Date.now() - 10_000;

        for (const step of steps) {
          if (step.kind === 'edit') devices[step.device].edit(step, baseMs);
          else await Promise.all(step.devices.map((d) => devices[d].sync(t, limit)));
        }
        // Everyone sends what is left, then pulls.
        for (const d of devices) await d.sync(t, limit);
        for (const d of devices) await d.sync(t, limit);

        const fresh = await firstSync(t, f.token('bob'), limit);
        const tables = await liveTasksAndEvents(t, f.familyId);
        const context = () => devices.flatMap((d) => d.log).join('\n');
        try {
          expect(snapshot(onlyTasksAndEvents(fresh))).toEqual(snapshot(tables));
          for (const d of devices)
            expect({ device: d.name, replica: snapshot(d.replica) }).toEqual({ device: d.name, replica: snapshot(fresh) });
          // PROTOCOL 2.11: every push of the run was recorded and replays the same.
          const replayed = await replayAll(t, f.token('alice'));
          expect(replayed.differences).toEqual([]);
          stats.replayedRecords = (stats.replayedRecords ?? 0) + replayed.records;
        } catch (error) {
          if (process.env.CONVERGENCE_LOG) console.log(context());
          throw error;
        }
      }),
      {
        numRuns: RUNS,
        seed: process.env.CONVERGENCE_SEED ? Number(process.env.CONVERGENCE_SEED) : undefined,
      },
    );

    console.log(`convergence: ${runs} runs in ${Date.now() - started} ms; ${JSON.stringify(stats)}`);
    // A pass means something only if every run was made and the interesting paths were hit:
    // concurrent edits that conflicted (rules 2-4), that merged field by field, paged pulls.
    // (A typical 20-run pass: ~40 merged, ~25 conflicts, ~60 cut pages, ~450 requests.)
    expect(runs).toBe(RUNS);
    expect(stats.requests).toBeGreaterThanOrEqual(RUNS * 7);
    expect(stats.merged ?? 0).toBeGreaterThan(0);
    expect(stats.replayedRecords ?? 0).toBeGreaterThan(RUNS);
    expect((stats.server_wins ?? 0) + (stats.delete_wins ?? 0) + (stats.done_wins ?? 0)).toBeGreaterThan(0);
    expect(stats.has_more ?? 0).toBeGreaterThan(0);
    expect(stats['applied with data'] ?? 0).toBeGreaterThan(0);
  });
});
