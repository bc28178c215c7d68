import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres, startEmbeddedPostgres } from '../../libs/database/src/embedded-postgres';
import { bearer } from '@app/testing';
import type { DeltaResponseDto } from '../../apps/api/src/sync/dto/delta-response.dto';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';
import { freePort } from '../support/free-port';

/**
 * Database faults are normal (issue 16): sessions killed by an operator, a failover or a
 * pooler restart, the server stopped and started. The process survives, every request that
 * met the fault answers 503 with Retry-After and stored nothing, and resending the same body
 * applies it exactly once. The app runs in this jest process: an unhandled pg `error` event
 * would kill the process and fail the suite.
 */
jest.setTimeout(180_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  retryAfter: string | null;
  body: DeltaResponseDto & { error?: string; requestId?: string };
}

async function post(baseUrl: string, token: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${baseUrl}/sync/delta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Answer['body'] };
}

/** What every answer during a fault must be: 200, or 503 `database_*` with Retry-After 1..5 s. */
function checkTransient(answer: Answer, statuses: Map<number, number>): void {
  statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
  if (answer.status === 200) return;
  expect({ status: answer.status, error: answer.body.error }).toEqual({
    status: 503,
    error: expect.stringMatching(/^database_(unavailable|timeout)$/),
  });
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(answer.retryAfter)).toBeLessThanOrEqual(5);
  expect(answer.body.requestId).toEqual(expect.any(String));
}

/** Sends the same body until it is answered 200 (every other answer checked as transient). */
async function resendUntilOk(baseUrl: string, token: string, body: unknown, statuses: Map<number, number>): Promise<DeltaResponseDto> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const answer = await post(baseUrl, token, body);
    checkTransient(answer, statuses);
    if (answer.status === 200) return answer.body;
    await sleep(20 + Math.random() * 30);
  }
  throw new Error('no 200 after 400 resends');
}

async function waitForReady(baseUrl: string, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const res = await fetch(`${baseUrl}/health/ready`);
    if (res.status === 200) return Date.now() - started;
    if (Date.now() - started > withinMs) throw new Error(`/health/ready still ${res.status} after ${withinMs} ms`);
    await sleep(25);
  }
}

describe('sessions killed while 8 devices of one family sync in parallel (issue 16)', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let killer: Client;

  beforeAll(async () => {
    // One user's 10 devices send well over the default 600 requests a minute: no rate limit here.
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    f = await createFamily(t, 'kim');
    killer = new Client({ connectionString: t.db.url, application_name: 'e2e-killer' });
    await killer.connect();
  });
  afterAll(async () => {
    await killer?.end();
    await t?.close();
  });

  it('every answer is 200 or 503 + Retry-After, the app stays up, and every acknowledged change is applied exactly once', async () => {
    const WRITERS = 8;
    const POLLERS = 2;
    const TASKS = 3;
    const RUN_MS = Number(process.env.FAULTS_RUN_MS ?? 6_000);
    const statuses = new Map<number, number>();
    const token = f.token();
    let stop = false;
    let killed = 0;
    let killRounds = 0;

    // The killer: terminates every session of the service (not its own) every 100-500 ms.
    const killing = (async () => {
      while (!stop) {
        await sleep(100 + Math.random() * 400);
        if (stop) break;
        const { rows } = await killer.query<{ n: string }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'delta-sync' AND pid <> pg_backend_pid()`,
        );
        killed += Number(rows[0].n);
        killRounds++;
      }
    })();

    // Each writer owns TASKS tasks; every round updates all of them at the version it was
    // last acknowledged, so a change applied twice (or lost) shows as a wrong final version
    // and as a version conflict in a later round.
    const writer = async (w: number) => {
      const device = `writer-${w}`;
      const ids = Array.from({ length: TASKS }, (_, k) => `w${w}-t${k}`);
      const versions = new Map<string, number>();
      const created = await resendUntilOk(
        t.baseUrl,
        token,
        {
          device_id: device,
          changes: ids.map((id) => ({
            entity_type: 'task',
            entity_id: id,
            action: 'create',
            change_id: `${id}-create`,
            data: { title: 'r0' },
            client_timestamp: new Date().toISOString(),
          })),
        },
        statuses,
      );
      for (const a of created.applied) versions.set(a.entity_id, a.version);
      let rounds = 0;
      let lastSyncAt: string | null = created.last_sync_at;
      while (!stop) {
        rounds++;
        const body = {
          device_id: device,
          last_sync_at: lastSyncAt,
          changes: ids.map((id) => ({
            entity_type: 'task',
            entity_id: id,
            action: 'update',
            change_id: `${id}-r${rounds}`,
            version: versions.get(id),
            data: { title: `r${rounds}` },
            client_timestamp: new Date().toISOString(),
          })),
        };
        const answer = await resendUntilOk(t.baseUrl, token, body, statuses);
        expect(answer.conflicts).toEqual([]);
        expect(answer.errors).toEqual([]);
        expect(answer.applied.map((a) => [a.entity_id, a.version])).toEqual(ids.map((id) => [id, versions.get(id)! + 1]));
        for (const a of answer.applied) versions.set(a.entity_id, a.version);
        lastSyncAt = answer.has_more ? lastSyncAt : answer.last_sync_at;
      }
      return { ids, rounds, versions };
    };

    // Pollers: pull-only requests (their own transaction shape) following has_more.
    const poller = async (p: number) => {
      let since: string | null = null;
      let pulls = 0;
      while (!stop) {
        const page = await resendUntilOk(t.baseUrl, token, { device_id: `poller-${p}`, last_sync_at: since, limit: 50 }, statuses);
        since = page.last_sync_at;
        pulls++;
      }
      return pulls;
    };

    const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    const pollers = Promise.all(Array.from({ length: POLLERS }, (_, p) => poller(p)));
    await sleep(RUN_MS);
    stop = true;
    await killing;
    const results = await writers;
    const pulls = await pollers;

    // The app is alive and ready again within 1 s of the last kill.
    await waitForReady(t.baseUrl, 1_000);

    // Faults really happened, and every answer was a 200 or a transient 503 (checked above).
    expect(killRounds).toBeGreaterThan(5);
    expect(killed).toBeGreaterThan(0);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].sort()).toEqual(statuses.has(503) ? [200, 503] : [200]);
    expect(pulls.every((n) => n > 0)).toBe(true);

    // The family's final state equals what the answers acknowledged: version 1 + one per
    // acknowledged round, the title of the last round, for every task of every writer.
    const fresh = await resendUntilOk(t.baseUrl, token, { device_id: 'checker', last_sync_at: null, limit: 1000 }, statuses);
    const server = new Map(fresh.server_changes.map((c) => [c.entity_id, c]));
    expect(server.size).toBe(WRITERS * TASKS);
    for (const { ids, rounds, versions } of results) {
      for (const id of ids) {
        expect({ id, version: server.get(id)?.version, title: server.get(id)?.data?.title }).toEqual({
          id,
          version: rounds + 1,
          title: `r${rounds}`,
        });
        expect(versions.get(id)).toBe(rounds + 1);
      }
    }

    console.log(`faults: ${killRounds} kill rounds, ${killed} sessions killed, answers ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
});

describe('the database stopped and started again (issue 16)', () => {
  const dataDir = join(__dirname, '..', '..', '.data', `pg-faults-${process.pid}`);
  const servers: EmbeddedPostgres[] = [];
  let port: number;
  let t: TestApp;
  let f: FamilyFixture;
  const start = async () => {
    const server = await startEmbeddedPostgres({ dataDir, port, database: 'faults' });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    port = await freePort();
    const server = await start();
    t = await startTestApp({ DATABASE_URL: server.url, DB_MIGRATIONS_RUN: 'true' });
    f = await createFamily(t, 'olga');
  });
  afterAll(async () => {
    await t?.close();
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 + Retry-After during the outage and 200 after it, without a restart; the resend applies once', async () => {
    const token = f.token();
    const statuses = new Map<number, number>();
    const first = await post(t.baseUrl, token, {
      device_id: 'tablet',
      changes: [
        {
          entity_type: 'task',
          entity_id: 'before',
          action: 'create',
          data: { title: 'before' },
          client_timestamp: new Date().toISOString(),
        },
      ],
    });
    expect(first.status).toBe(200);

    await servers[servers.length - 1].stop();

    const body = {
      device_id: 'tablet',
      last_sync_at: first.body.last_sync_at,
      changes: [
        {
          entity_type: 'task',
          entity_id: 'during',
          action: 'create',
          change_id: 'during-1',
          data: { title: 'during' },
          client_timestamp: new Date().toISOString(),
        },
      ],
    };
    // Several requests in parallel while the server is down: all transient, none a 500.
    const down = await Promise.all(Array.from({ length: 6 }, () => post(t.baseUrl, token, body)));
    for (const answer of down) {
      checkTransient(answer, statuses);
      expect(answer.status).toBe(503);
      expect(answer.body.error).toBe('database_unavailable');
    }
    // The family endpoints (their guard reads the membership) and readiness say the same.
    const family = await fetch(`${t.baseUrl}/families/${f.familyId}/members`, { headers: bearer(token) });
    expect(family.status).toBe(503);
    expect(family.headers.get('retry-after')).toMatch(/^[1-5]$/);
    expect((await fetch(`${t.baseUrl}/health/ready`)).status).toBe(503);

    await start();
    await waitForReady(t.baseUrl, 10_000);
    const after = await resendUntilOk(t.baseUrl, token, body, statuses);
    expect(after.applied).toEqual([{ entity_type: 'task', entity_id: 'during', version: 1 }]);
    // Resending once more replays the receipt: still one task, version 1.
    const again = await resendUntilOk(t.baseUrl, token, body, statuses);
    expect(again.applied).toEqual([{ entity_type: 'task', entity_id: 'during', version: 1 }]);
    const all = await resendUntilOk(t.baseUrl, token, { device_id: 'checker', last_sync_at: null }, statuses);
    expect(all.server_changes.map((c) => [c.entity_id, c.version]).sort()).toEqual([
      ['before', 1],
      ['during', 1],
    ]);
  });
});
