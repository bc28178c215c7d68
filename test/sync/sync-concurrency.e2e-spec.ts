import {
  concurrencySuite,
  freshFirstSync,
  iso,
  key,
  onlyTasksAndEvents,
  Poller,
  positions,
  prng,
  sleep,
  sorted,
  sync,
} from '../support/concurrency-helpers';
import { learn, SHARED_EVENTS, SHARED_TASKS, sharedSeedChanges, Writer, writerChanges } from '../support/concurrency-writer-helpers';
import { createFamily } from '../support/sync-fixtures';
import { liveTasksAndEvents } from '../support/db-state';

/**
 * Concurrency of POST /sync/delta (PROTOCOL 2, 2.1, 2.4), one of two suites
 * (sync-concurrency*.e2e-spec.ts, helpers in test/support/concurrency-helpers.ts and the
 * writers in concurrency-writer-helpers.ts). Requests go over real HTTP (fetch) so they really
 * run concurrently. This part: many devices of one family writing in parallel while another
 * device pulls incrementally with small pages must never lose or duplicate a commit.
 */

// The project's testTimeout does not reach tests run with --selectProjects: set it here.
jest.setTimeout(60_000);

describe('sync concurrency (one family, many devices)', () => {
  const { app } = concurrencySuite();

  it('parallel writers on 6 devices, an incremental poller with limit 7: every commit exactly once, replica = server', async () => {
    const seed = Number(process.env.SYNC_CONCURRENCY_SEED ?? 20251111);
    const rng = prng(seed);
    const f = await createFamily(app(), 'alice', 'Concurrent family');
    await f.addMember('bob');
    await f.addMember('carol');

    // Seed the shared entities every writer knows from the start.
    const seedTime = iso(Date.now() - 120_000);
    const seeded = await sync(app(), f.token('alice'), {
      device_id: 'seeder',
      changes: sharedSeedChanges(seedTime),
    });
    expect(seeded.applied_count).toBe(SHARED_TASKS.length + SHARED_EVENTS.length);

    // The pollers start before the writers: first sync (everything), then incremental.
    const poller = new Poller(app(), f.token('carol'), 'poller', 7);
    const smallPages = new Poller(app(), f.token('bob'), 'poller-small-pages', 3);
    const pollers = [poller, smallPages];
    for (const p of pollers) {
      await p.drain();
      expect(p.replica.size).toBe(SHARED_TASKS.length + SHARED_EVENTS.length);
    }

    const writers: Writer[] = [
      ['alice-phone', 'alice'],
      ['alice-tablet', 'alice'],
      ['bob-phone', 'bob'],
      ['bob-laptop', 'bob'],
      ['carol-phone', 'carol'],
      ['carol-watch', 'carol'],
    ].map(([deviceId, user]) => ({
      deviceId,
      token: f.token(user),
      watermark: seeded.last_sync_at,
      versions: new Map([
        ...SHARED_TASKS.map((id) => [key('task', id), 1] as const),
        ...SHARED_EVENTS.map((id) => [key('event', id), 1] as const),
      ]),
      deleted: new Set<string>(),
      ownTasks: [],
      ownEvents: [],
      seq: 0,
    }));

    const ROUNDS = 10;
    const stats = { requests: 0, changes: 0, applied: 0, conflicts: 0, merged: 0, errors: [] as string[] };
    const runWriter = async (w: Writer) => {
      for (let round = 0; round < ROUNDS; round++) {
        // A burst of 1..2 parallel requests from the same device, as on a flaky network.
        const burst = rng.int(1, 2);
        await Promise.all(
          Array.from({ length: burst }, async () => {
            const changes = writerChanges(w, rng);
            const body = await sync(app(), w.token, { device_id: w.deviceId, last_sync_at: w.watermark, changes });
            stats.requests++;
            stats.changes += changes.length;
            stats.applied += body.applied_count;
            stats.conflicts += body.conflicts.filter((c) => c.resolution !== 'merged').length;
            stats.merged += body.conflicts.filter((c) => c.resolution === 'merged').length;
            for (const e of body.errors) stats.errors.push(`${w.deviceId} ${e.entity_type}:${e.entity_id} ${e.code} ${e.message}`);
            // PROTOCOL 2: each change has exactly one outcome.
            const outcomes = body.applied.length + body.conflicts.filter((c) => c.resolution !== 'merged').length + body.errors.length;
            expect(outcomes).toBe(changes.length);
            learn(w, body);
          }),
        );
      }
    };

    let writing = true;
    const polling = pollers.map(async (p) => {
      while (writing) {
        const more = await p.pullOnce();
        if (!more) await sleep(2);
      }
    });
    const started = Date.now();
    try {
      await Promise.all(writers.map(runWriter));
    } finally {
      writing = false;
      await Promise.all(polling);
    }
    const writeMs = Date.now() - started;
    for (const p of pollers) {
      await p.drain();
      const before = p.received;
      await p.drain(); // a second pass brings nothing new
      expect(p.received).toBe(before);
    }

    const server = await liveTasksAndEvents(app(), f.familyId);

    console.log(
      `concurrency seed ${seed}: ${stats.requests} requests / ${stats.changes} changes in ${writeMs} ms ` +
        `(applied ${stats.applied}, merged ${stats.merged}, conflicts ${stats.conflicts}); ` +
        pollers
          .map(
            (p) =>
              `${p.deviceId}: ${p.pulls} pulls, ${p.received} changes (${p.upsertsAfterCut} updates of unseen entities after a cut page); `,
          )
          .join('') +
        `live entities ${server.size}`,
    );

    expect(stats.errors).toEqual([]);
    expect(stats.conflicts).toBeGreaterThan(0); // the workload really collides
    for (const p of pollers.filter((x) => x.violations.length > 0)) {
      console.log(`poller history:\n${p.history.join('\n')}\nrows:\n${JSON.stringify(await positions(app(), f.familyId))}`);
    }
    expect(pollers.map((p) => p.violations)).toEqual([[], []]);
    expect(sorted(onlyTasksAndEvents(poller.replica))).toEqual(sorted(server));
    expect(sorted(smallPages.replica)).toEqual(sorted(poller.replica));

    // A new device paging its first sync with limit 5 gets every live entity once.
    const fresh = await freshFirstSync(app(), f.token('bob'), 5);
    expect(fresh.duplicates).toEqual([]);
    expect(fresh.pages).toBeGreaterThan(1);
    expect(sorted(onlyTasksAndEvents(fresh.replica))).toEqual(sorted(server));
    // Every type the poller saw (server-computed rows too) matches what a new device sees.
    expect(sorted(fresh.replica)).toEqual(sorted(poller.replica));
  });
});
