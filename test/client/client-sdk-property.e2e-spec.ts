import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { IDBFactory } from 'fake-indexeddb';
import { IndexedDbStorage, SyncClient } from '@delta-sync/client';
import { recordingFetch, replicaState, sdkClient, sentChanges, serverState, Exchange } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Property: 3-5 devices of one family (one user each), each 2-3 tabs (SyncClients on one
 * fake-indexeddb database: one leader syncs for the others), create, update, complete and
 * delete tasks and add ledger entries, go offline and online at random, sync in a random
 * order from any tab, several rounds overlapping, and close tabs mid-round (a new tab
 * opens in their place). After everyone is back online and has synced
 * twice, every replica equals the server's tables, every outbox is empty, and the server
 * holds exactly one receipt per change each device sent: none applied twice. (Edits not
 * yet sent merge into one change, so a device sends at most one change per edit.)
 */
jest.setTimeout(240_000);

type Op =
  | { kind: 'create' | 'ledger'; c: number; id: number; points: number }
  | { kind: 'update'; c: number; pick: number; title: string }
  | { kind: 'complete' | 'delete'; c: number; pick: number }
  | { kind: 'sync' | 'offline' | 'online' | 'settle' | 'close'; c: number };
type TabOp = Op & { tab: number };

const opArb = (clients: number): fc.Arbitrary<TabOp> => {
  const c = fc.nat(clients - 1);
  const op = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), c, id: fc.nat(9), points: fc.constantFrom(0, 5, 20) }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('ledger' as const), c, id: fc.nat(3), points: fc.integer({ min: 1, max: 50 }) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('update' as const), c, pick: fc.nat(), title: fc.string({ minLength: 1, maxLength: 8 }) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('complete' as const, 'delete' as const), c, pick: fc.nat() }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), c }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('offline' as const, 'online' as const, 'settle' as const), c }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), c }) },
  );
  return fc.tuple(op, fc.nat(2)).map(([o, tab]): TabOp => ({ ...o, tab }));
};

describe('client SDK property: offline clients converge with the server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  it('every replica equals the server state; one receipt per change', async () => {
    const stats = { runs: 0, ops: 0, tabCloses: 0, edits: 0, changes: 0, requests: 0, offlineFailures: 0, conflicts: 0, changeErrors: 0 };
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 3, max: 5 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.array(opArb(n), { minLength: 20, maxLength: 60, size: 'max' }),
              fc.array(fc.integer({ min: 2, max: 3 }), { minLength: n, maxLength: n }),
            ),
          ),
        async ([n, ops, tabCounts]) => {
          stats.runs += 1;
          const f = await createFamily(t, 'u0');
          const users = ['u0'];
          for (let i = 1; i < n; i++) users.push((await f.addMember(`u${i}`), `u${i}`));
          const net = users.map(() => ({ offline: false }));
          const logs: Exchange[][] = users.map(() => []);
          const edits = users.map(() => 0);
          const databases = users.map(() => new IDBFactory());
          const openTab = async (i: number) => {
            const client = await sdkClient(t, f, `dev-${i}`, {
              user: users[i],
              // A name of this run: tabs coordinate through Web Locks where the runtime has them
              // (Node 24, browsers), and a lock name is process-wide: a run (or another suite in
              // this worker) that failed before stopping its tabs would hold it forever.
              storage: new IndexedDbStorage({ indexedDB: databases[i], name: `dev-${stats.runs}-${i}-${process.pid}` }),
              fetch: recordingFetch(logs[i], net[i]),
              retry: { baseMs: 1, maxMs: 5, maxAttempts: 2 },
              pageLimit: 4,
            });
            client.on('change', (e) => e.origin === 'local' && (edits[i] += 1));
            client.on('conflict', () => (stats.conflicts += 1));
            client.on('error', (e) => e.kind === 'change' && (stats.changeErrors += 1));
            return client;
          };
          const tabs: SyncClient[][] = [];
          for (let i = 0; i < n; i++) {
            tabs.push([]);
            for (let k = 0; k < tabCounts[i]; k++) tabs[i].push(await openTab(i));
          }
          const clients = () => tabs.flat();
          const rounds: Promise<unknown>[] = [];
          const tasksOf = (c: SyncClient) => c.list('task').sort((a, b) => (a.id < b.id ? -1 : 1));
          for (const op of ops) {
            stats.ops += 1;
            const client = tabs[op.c][op.tab % tabs[op.c].length];
            switch (op.kind) {
              case 'create':
                if (!client.get('task', `x${op.id}`))
                  await client.create('task', `x${op.id}`, { title: `x${op.id}`, points: op.points, assignees: [users[op.c]] });
                break;
              case 'ledger':
                if (!client.get('points_ledger', `l${op.c}-${op.id}`)) {
                  await client.create('points_ledger', `l${op.c}-${op.id}`, { userId: users[op.c], delta: op.points, reason: 'bonus' });
                }
                break;
              case 'update':
              case 'complete':
              case 'delete': {
                const tasks = tasksOf(client);
                if (tasks.length === 0) break;
                const id = tasks[op.pick % tasks.length].id;
                if (op.kind === 'delete') await client.delete('task', id);
                else if (op.kind === 'update') await client.update('task', id, { title: op.title });
                else await client.update('task', id, { status: 'done', completedAt: new Date().toISOString() });
                break;
              }
              case 'sync':
                rounds.push(client.sync().catch(() => (stats.offlineFailures += 1)));
                break;
              case 'offline':
                net[op.c].offline = true;
                break;
              case 'online':
                net[op.c].offline = false;
                break;
              case 'settle':
                await Promise.all(rounds.splice(0));
                break;
              case 'close': {
                // Mid-round: its rounds are not awaited; a new tab takes its place.
                const k = op.tab % tabs[op.c].length;
                stats.tabCloses += 1;
                const closing = tabs[op.c][k].stop();
                tabs[op.c][k] = await openTab(op.c);
                await closing;
                break;
              }
            }
          }
          await Promise.all(rounds);
          for (const s of net) s.offline = false;
          for (let pass = 0; pass < 2; pass++) for (const c of clients()) await c.sync();

          const server = await serverState(t, f.familyId);
          for (const c of clients()) {
            expect(c.pending()).toEqual([]);
            expect(replicaState(c)).toEqual(server);
          }
          const receipts: { device_id: string; n: string }[] = await t.app
            .get(DataSource)
            .query('SELECT device_id, count(*) AS n FROM sync_receipts WHERE family_id = $1 GROUP BY device_id ORDER BY device_id', [
              f.familyId,
            ]);
          const made = logs.map((log) => new Set(sentChanges(log).flatMap((changes) => changes.map((c) => c.change_id))).size);
          made.forEach((m, i) => expect(m).toBeLessThanOrEqual(edits[i]));
          expect(Object.fromEntries(receipts.map((r) => [r.device_id, Number(r.n)]))).toEqual(
            Object.fromEntries(made.flatMap((m, i) => (m > 0 ? [[`dev-${i}`, m]] : []))),
          );
          stats.changes += made.reduce((a, b) => a + b, 0);
          stats.edits += edits.reduce((a, b) => a + b, 0);
          stats.requests += logs.reduce((a, l) => a + l.length, 0);
          await Promise.all(clients().map((c) => c.stop()));
        },
      ),
      {
        numRuns: Number(process.env.CLIENT_PROPERTY_RUNS ?? 20),
        timeout: 60_000,
        // A run that hangs fails with its seed and path at once: shrinking re-runs would each wait out the timeout.
        endOnFailure: true,
        seed: process.env.CLIENT_PROPERTY_SEED ? Number(process.env.CLIENT_PROPERTY_SEED) : undefined,
        path: process.env.CLIENT_PROPERTY_PATH,
      },
    );
    console.log(`client SDK property: ${JSON.stringify(stats)} in ${Date.now() - started} ms`);
  });
});
