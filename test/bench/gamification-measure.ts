/**
 * A measurement, not a test: the cost of the server computations (PROTOCOL 2.3) on a full batch.
 * Times, through HTTP, one POST /sync/delta completing 500 tasks (points 10, 2 assignees
 * each: 1000 ledger rows, streaks and badges) against one updating the titles of 500 tasks,
 * median of 5 runs each (after one warm-up of each), each run on a fresh family.
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only test/bench/gamification-measure.ts
 *
 * PostgreSQL: BENCH_DATABASE_URL, TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres
 * (an admin URL: the script migrates a template database of its own, boots the real
 * AppModule on a copy through test/support/test-app, and drops both at the end).
 */
import 'reflect-metadata';
import os from 'node:os';
import { mintToken } from '@app/testing';
import { appSchema } from '../../apps/api/src/app.schema';
import { createMigratedTemplate, E2E_ADMIN_URL, E2E_DB_PREFIX, E2E_TEMPLATE_DB, withClient } from '../../libs/testing/src/test-database';
import { startTestApp, TestApp } from '../support/test-app';

const BATCH = 500;
const RUNS = 5;
const USERS = 20;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON answers read field by field in a measurement script
type Json = Record<string, any>;

async function post(
  baseUrl: string,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; body: Json; ms: number; bytes: number }> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  return { status: res.status, body: JSON.parse(text), ms, bytes: text.length };
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let familyCount = 0;

/** A fresh family with 500 open tasks (points 10, 2 of USERS assignees each); returns what the timed request needs. */
async function seed(app: TestApp): Promise<{ token: string; lastSyncAt: string }> {
  const owner = 'owner';
  const fam = await post(app.baseUrl, '/families', mintToken({ sub: owner }), { name: `Bench ${++familyCount}` });
  check(fam.status === 201, `POST /families -> ${fam.status}`);
  const token = mintToken({ sub: owner, familyId: fam.body.id });
  const now = new Date().toISOString();
  const changes = Array.from({ length: BATCH }, (_, i) => ({
    entity_type: 'task',
    entity_id: `task-${i}`,
    action: 'create',
    client_timestamp: now,
    data: { title: `Task ${i}`, points: 10, assignees: [`user-${i % USERS}`, `user-${(i + 1) % USERS}`] },
  }));
  const res = await post(app.baseUrl, '/sync/delta', token, { device_id: 'seed', changes });
  check(res.status === 200 && res.body.applied_count === BATCH, `seed -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  return { token, lastSyncAt: res.body.last_sync_at };
}

type Kind = 'complete' | 'update';

/** The timed request: all 500 tasks to done, or all 500 titles changed; the device echoes its watermark. */
async function timed(app: TestApp, kind: Kind): Promise<{ ms: number; serverChanges: number; hasMore: boolean; bytes: number }> {
  const { token, lastSyncAt } = await seed(app);
  const now = new Date().toISOString();
  const changes = Array.from({ length: BATCH }, (_, i) => ({
    entity_type: 'task',
    entity_id: `task-${i}`,
    action: 'update',
    version: 1,
    client_timestamp: now,
    data: kind === 'complete' ? { status: 'done', completedAt: now } : { title: `Task ${i} (renamed)` },
  }));
  const res = await post(app.baseUrl, '/sync/delta', token, { device_id: 'seed', last_sync_at: lastSyncAt, changes });
  check(
    res.status === 200 && res.body.success && res.body.applied_count === BATCH,
    `${kind} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`,
  );
  if (kind === 'complete') {
    const types = new Set(res.body.server_changes.map((c: Json) => c.entity_type));
    check(types.has('points_ledger'), 'the completion response carries no computed rows');
  }
  return { ms: res.ms, serverChanges: res.body.server_changes.length, hasMore: res.body.has_more, bytes: res.bytes };
}

async function main(): Promise<void> {
  const adminUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  // Named like the e2e databases of this process: a parallel test run's global setup keeps them while we live.
  const template = `${E2E_DB_PREFIX}${process.pid}_tmpl`;
  await createMigratedTemplate(adminUrl, template, appSchema);
  process.env[E2E_ADMIN_URL] = adminUrl;
  process.env[E2E_TEMPLATE_DB] = template;

  let app: TestApp | undefined;
  try {
    app = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    // Warm-up (JIT, connection pool, plan caches): one of each, not counted.
    await timed(app, 'complete');
    await timed(app, 'update');

    const results: Record<Kind, { ms: number; serverChanges: number; hasMore: boolean; bytes: number }[]> = { complete: [], update: [] };
    for (let run = 0; run < RUNS; run++) {
      for (const kind of ['complete', 'update'] as const) results[kind].push(await timed(app, kind));
    }

    const cpus = os.cpus();
    console.log(`CPU: ${cpus[0]?.model ?? 'unknown'} x ${cpus.length}; Node ${process.version}; PostgreSQL at ${new URL(adminUrl).host}`);
    for (const kind of ['complete', 'update'] as const) {
      const r = results[kind];
      const label = kind === 'complete' ? `${BATCH} completions (points 10, 2 assignees each)` : `${BATCH} updates (title changes)`;
      console.log(
        `${label.padEnd(45)} median ${median(r.map((x) => x.ms)).toFixed(1)} ms  runs [${r.map((x) => x.ms.toFixed(1)).join(', ')}]` +
          `  response: ${r[0].serverChanges} server_changes${r[0].hasMore ? ' (has_more)' : ''}, ${(r[0].bytes / 1024).toFixed(0)} KiB`,
      );
    }
    const ratio = median(results.complete.map((x) => x.ms)) / median(results.update.map((x) => x.ms));
    console.log(`completions / updates: ${ratio.toFixed(2)}x`);
  } finally {
    await app?.close();
    await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
