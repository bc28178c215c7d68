import { Client } from 'pg';
import { readyWs } from '../support/realtime-clients';
import type { TestApp } from '../support/test-app';
import { mintToken } from '@app/testing';
import {
  addMemberVia,
  createFamilyVia,
  Device,
  Front,
  migrationJobCommand,
  Row,
  runMigrationJob,
  severalInstancesSuite,
  sleep,
} from '../support/several-instances-helpers';

/**
 * Three instances of the compiled service (child processes) on one PostgreSQL database,
 * migrated once by the compiled migration CLI (the Kubernetes Job's command) while the
 * instances start with DB_MIGRATIONS_RUN=false; the rate limit in the machine's Redis
 * (TEST_REDIS_URL). A round-robin front in this process, like a Service without session
 * affinity, sends 40 devices (10 families of 4 users) through them for
 * SEVERAL_INSTANCES_DURATION_MS (default 20 s); in the middle one instance gets SIGTERM.
 * A request that meets the dying instance (connection refused or reset, 503) is resent,
 * unchanged, to the next one: retries are exactly-once, so that is always safe. Realtime
 * pokes cross the instances too. The drain bound of a stopping instance is
 * several-instances-drain.long-spec.ts; the helpers are test/support/several-instances-helpers.ts.
 */
const DURATION_MS = Number(process.env.SEVERAL_INSTANCES_DURATION_MS ?? 20_000);
const FAMILIES = 10;
const DEVICES_PER_FAMILY = 4;
/** Per user and minute; the load devices pace themselves well below it. */
const RATE_LIMIT = 120;
const DEVICE_INTERVAL_MS = Math.ceil(60_000 / (RATE_LIMIT * 0.6));
const REDIS = process.env.TEST_REDIS_URL;

jest.setTimeout(DURATION_MS + 240_000);

describe('several instances on one database', () => {
  const { run, instances, outDir, dbUrl, start } = severalInstancesSuite('multi');
  let front: Front;

  it("the migration Job's command migrates the database once; a second run finds nothing pending", async () => {
    const { node } = migrationJobCommand();
    expect(node).toBe('node');
    const first = await runMigrationJob(outDir(), dbUrl());
    expect(JSON.parse(first.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      msg: expect.stringMatching(/^applied \d+ migration\(s\)$/),
    });
    const second = await runMigrationJob(outDir(), dbUrl());
    expect(JSON.parse(second.stdout.trim().split('\n').at(-1)!)).toMatchObject({ msg: 'no pending migration', applied: [] });
  });

  it('three instances start with DB_MIGRATIONS_RUN=false and become ready', async () => {
    const env = {
      DB_POOL_SIZE: '5',
      LOG_LEVEL: 'warn',
      SYNC_RATE_LIMIT: String(RATE_LIMIT),
      SHUTDOWN_DRAIN_MS: '15000',
      ...(REDIS ? { RATE_LIMIT_REDIS_URL: REDIS } : {}),
    };
    instances.push(...(await Promise.all(['a', 'b', 'c'].map((name) => start(name, env)))));
    front = new Front(instances);
  });

  (REDIS ? it : it.skip)('the rate limit counts one user across the three instances', async () => {
    const familyId = await createFamilyVia(instances[0], `limited-${run}`);
    const token = mintToken({ sub: `limited-${run}`, familyId });
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT + 3; i++) statuses.push((await front.sync(token, { device_id: 'd' })).status);
    // In memory, each instance would allow RATE_LIMIT: 3 x RATE_LIMIT before the first 429.
    expect(statuses.filter((s) => s === 200)).toHaveLength(RATE_LIMIT);
    expect(statuses.slice(RATE_LIMIT)).toEqual([429, 429, 429]);
  });

  it('realtime pokes cross instances: a push through A pokes WebSockets held on B and C with its position, not the pushing device', async () => {
    const owner = `poked-${run}`;
    const familyId = await createFamilyVia(instances[0], owner);
    const token = mintToken({ sub: owner, familyId });
    const at = (i: number) => ({ baseUrl: instances[i].baseUrl }) as TestApp;
    const onB = await readyWs(at(1), token, 'tablet-b');
    const onC = await readyWs(at(2), token, 'laptop-c');
    const pusherOnB = await readyWs(at(1), token, 'phone-a');
    try {
      const res = await fetch(`${instances[0].baseUrl}/sync/delta`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          device_id: 'phone-a',
          changes: [
            {
              entity_type: 'task',
              entity_id: 'poke-1',
              action: 'create',
              data: { title: 'hello' },
              client_timestamp: new Date().toISOString(),
            },
          ],
        }),
      });
      expect(res.status).toBe(200);
      const { last_sync_at: position } = (await res.json()) as { last_sync_at: string };
      for (const client of [onB, onC]) {
        const poke = await client.next((m) => m.type === 'poke' && m.last_changed_at === position, 5_000, 'poke');
        expect(poke).toEqual({ type: 'poke', last_changed_at: position });
      }
      // Everything B had to say to the pushing device has arrived (a ping answered after the
      // others' pokes): no poke of its own commit.
      await pusherOnB.roundTrip();
      expect(pusherOnB.pokes()).toEqual([]);
    } finally {
      for (const client of [onB, onC, pusherOnB]) client.close();
    }
  });

  it(`40 devices through a round-robin front for ${DURATION_MS} ms, one instance stopped (SIGTERM) in the middle: no acknowledged write lost, every device converges`, async () => {
    const families = await Promise.all(Array.from({ length: FAMILIES }, (_, f) => createFamilyVia(instances[f % 3], `f${f}-u0-${run}`)));
    const devices: { familyId: string; device: Device }[] = [];
    for (const [f, familyId] of families.entries()) {
      for (let d = 0; d < DEVICES_PER_FAMILY; d++) {
        const user = `f${f}-u${d}-${run}`;
        if (d > 0) await addMemberVia(instances[d % 3], familyId, `f${f}-u0-${run}`, user);
        devices.push({ familyId, device: new Device(`f${f}d${d}`, mintToken({ sub: user, familyId })) });
      }
    }

    const statuses: Record<number, number> = {};
    const deadline = Date.now() + DURATION_MS;
    const victim = instances[1];
    let victimExitedAt = Infinity;
    const stopping = (async () => {
      await sleep(DURATION_MS / 2);
      front.killedAt = Date.now();
      victim.child.kill('SIGTERM');
      const exit = await victim.exited;
      victimExitedAt = Date.now();
      return exit;
    })();

    await Promise.all(
      devices.map(async ({ device }) => {
        await sleep(Math.random() * DEVICE_INTERVAL_MS);
        while (Date.now() < deadline) {
          const started = Date.now();
          const changes = device.edits();
          const res = await front.sync(device.token, { device_id: device.id, last_sync_at: device.watermark, changes });
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status !== 200) throw new Error(`${device.id}: ${res.status} ${JSON.stringify(res.body)}`);
          device.take(changes, res.body);
          await sleep(Math.max(0, DEVICE_INTERVAL_MS - (Date.now() - started)) + Math.random() * 100);
        }
      }),
    );
    const exit = await stopping;

    // Every device pulls until it has everything, through the two remaining instances.
    for (const { device } of devices) {
      for (let page = 0; page < 100; page++) {
        const res = await front.sync(device.token, { device_id: device.id, last_sync_at: device.watermark });
        expect(res.status).toBe(200);
        device.take([], res.body);
        if (!res.body.has_more) break;
      }
    }

    const db = new Client({ connectionString: dbUrl() });
    await db.connect();
    try {
      const state = new Map<string, Map<string, Row>>();
      for (const [type, table] of [
        ['task', 'tasks'],
        ['event', 'events'],
        ['points_ledger', 'points_ledger'],
        ['user_streak', 'user_streaks'],
        ['badge', 'badges'],
        ['conflict', 'conflicts'],
      ]) {
        const { rows } = await db.query(`SELECT family_id, id, version, data FROM ${table} WHERE deleted_us IS NULL`);
        for (const r of rows) {
          if (!state.has(r.family_id)) state.set(r.family_id, new Map());
          state.get(r.family_id)!.set(`${type}:${r.id}`, { version: r.version, data: r.data });
        }
      }
      let acked = 0;
      for (const { familyId, device } of devices) {
        const server = state.get(familyId) ?? new Map<string, Row>();
        // No acknowledged write lost: every version a device was told is in the database (or a later one).
        for (const a of device.acked) {
          acked++;
          const row = server.get(a.key);
          if (!row || row.version < a.version)
            throw new Error(`${device.id}: acknowledged ${a.key} v${a.version}, database has ${row?.version}`);
        }
        // Convergence: the replica is the family's server state.
        expect(Object.fromEntries([...device.replica].sort())).toEqual(Object.fromEntries([...server].sort()));
      }
      const report = { acked, statuses, served: Object.fromEntries(front.served), failedAttempts: front.failedAttempts, victimExit: exit };
      process.stderr.write(`several instances: ${JSON.stringify(report)}\n`);
      expect(acked).toBeGreaterThan(devices.length);
    } finally {
      await db.end();
    }

    // The stopped instance drained and exited on its own (not the drain bound's exit code 1),
    // while the devices were still sending: keep-alive clients were told `Connection: close`
    // instead of holding the drain open.
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
    expect(victimExitedAt).toBeLessThan(deadline);
    // The others kept serving after the stop.
    for (const i of [instances[0], instances[2]]) expect(front.served.get(i.name)!.after).toBeGreaterThan(0);
    expect(front.served.get(victim.name)!.before).toBeGreaterThan(0);
    expect(Object.keys(statuses)).toEqual(['200']);
  });
});
