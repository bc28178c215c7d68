/**
 * `npm run bench:client`: the SDK's live queries, in one process, no service (client-only
 * micro-bench; test/bench/client-queries.mjs bundles this file with esbuild and runs it).
 *
 * 1. 50,000 tasks in the replica (and 100 pending local edits): `query` with `where` +
 *    `orderBy` (two keys) + `limit 50`, computed afresh each run; the median must stay under 5 ms.
 * 2. A sync page of 1,000 tasks with a subscribed query: how many notifications (target: 1)
 *    and how long the page takes to apply.
 */
import { DeltaResponse, FetchLike, MemoryStorage, StoredEntity, SyncClient } from '@delta-sync/client';

const N = Number(process.env.BENCH_TASKS ?? 50_000);
const RUNS = 101;
const STATUSES = ['open', 'in_progress', 'done'];

function taskAt(i: number, prefix = 't'): StoredEntity {
  return {
    entity_type: 'task',
    entity_id: `${prefix}${i}`,
    version: 1,
    data: {
      title: `task ${i}`,
      desc: null,
      status: STATUSES[(i * 7) % 3],
      assignees: [],
      due: i % 5 === 0 ? null : `2026-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
      points: (i * 13) % 100,
      completedAt: null,
    },
  };
}

function pageFetch(entities: StoredEntity[]): FetchLike {
  return async () => {
    const body: DeltaResponse = {
      server_changes: entities.map((e) => ({ ...e, action: 'update', client_timestamp: 'x', server_timestamp: 'x', data: e.data })),
      conflicts: [],
      errors: [],
      applied: [],
      last_sync_at: '2026-01-01T00:00:00.000001Z',
      has_more: false,
      resync_required: false,
      success: true,
      applied_count: 0,
      error_count: 0,
      request_id: null,
    };
    return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify(body) };
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

async function main(): Promise<void> {
  const storage = new MemoryStorage();
  await storage.write({ putEntities: Array.from({ length: N }, (_, i) => taskAt(i)) });
  const page = Array.from({ length: 1000 }, (_, i) => taskAt(i * 37, 't'));
  for (const e of page) e.data = { ...e.data, status: 'open', points: 1000 + (e.data.points as number) };
  const client = new SyncClient({
    baseUrl: 'http://bench',
    deviceId: 'bench',
    getToken: () => 't',
    storage,
    fetch: pageFetch(page),
    logger: null,
    tabs: false,
  });
  await client.start();
  for (let i = 0; i < 100; i++) await client.update('task', `t${i * 11}`, { points: 99 });

  const options = {
    where: { status: 'open' as const },
    orderBy: [{ field: 'due' as const }, { field: 'points' as const, desc: true }] as const,
    limit: 50,
  };
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const q = client.query('task', options);
    const t0 = performance.now();
    if (q.current.length !== 50) throw new Error('expected 50 rows');
    times.push(performance.now() - t0);
  }
  const q = client.query('task', { ...options, orderBy: [{ field: 'points', desc: true }] });
  let notified = 0;
  q.subscribe(() => (notified += 1));
  const t0 = performance.now();
  await client.sync();
  const pageMs = performance.now() - t0;
  const top = q.current[0].data.points;
  await client.stop();

  const listed: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t = performance.now();
    client.list('task');
    listed.push(performance.now() - t);
  }
  const query = { median: +median(times).toFixed(3), p95: +p95(times).toFixed(3), min: +Math.min(...times).toFixed(3) };
  console.log(`client queries, ${N} tasks, 100 pending, node ${process.version}`);
  console.log(
    `  query where+orderBy(2)+limit 50: median ${query.median} ms, p95 ${query.p95} ms, min ${query.min} ms (${RUNS} runs; target median < 5 ms)`,
  );
  console.log(`  for comparison, list('task') (a walk of the replica and outbox): median ${median(listed).toFixed(1)} ms`);
  console.log(
    `  sync page of 1,000 tasks: ${notified} notification(s) of the subscribed query (target 1); page applied in ${pageMs.toFixed(1)} ms; top points ${top}`,
  );
  if (query.median >= 5 || notified !== 1) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
