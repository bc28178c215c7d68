import request from 'supertest';
import { QueryRunner, DataSource } from 'typeorm';
import { withClient } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The database connections as /metrics shows them: the pool (in use, waiting, size) while
 * requests hold and wait for connections, and the LISTEN session going down and back up.
 */
const sample = async (t: TestApp, name: string): Promise<number> => {
  const text = (await request(t.server).get('/metrics').expect(200)).text;
  const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!line) throw new Error(`${name} not in /metrics`);
  return Number(line[1]);
};

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('connection metrics', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ DB_POOL_SIZE: '3' });
  });
  afterAll(() => t?.close());

  it('pool: size, connections in use and requests waiting follow what holds the pool', async () => {
    expect(await sample(t, 'sync_db_pool_max')).toBe(3);
    await until(async () => (await sample(t, 'sync_db_pool_in_use')) === 0);
    const dataSource = t.app.get(DataSource);
    const held: QueryRunner[] = [];
    for (let i = 0; i < 3; i++) {
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      held.push(runner);
    }
    expect(await sample(t, 'sync_db_pool_in_use')).toBe(3);
    expect(await sample(t, 'sync_db_pool_waiting')).toBe(0);
    const waiting = [dataSource.query('SELECT 1'), dataSource.query('SELECT 2')];
    await until(async () => (await sample(t, 'sync_db_pool_waiting')) === 2);
    await Promise.all(held.map((r) => r.release()));
    await Promise.all(waiting);
    await until(async () => (await sample(t, 'sync_db_pool_waiting')) === 0 && (await sample(t, 'sync_db_pool_in_use')) === 0);
  });

  it('sync_listener_up: 1 while listening, 0 after its session is killed, 1 again once it is back', async () => {
    await until(async () => (await sample(t, 'sync_listener_up')) === 1);
    const dbName = new URL(t.db.url).pathname.slice(1);
    await withClient(t.db.url, (c) =>
      c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'delta-sync-listener'`, [
        dbName,
      ]),
    );
    await until(async () => (await sample(t, 'sync_listener_up')) === 0);
    await until(async () => (await sample(t, 'sync_listener_up')) === 1);
  });
});
