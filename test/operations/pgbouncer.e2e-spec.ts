import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase, withClient } from '@app/testing';
import { SyncMaintenanceRepository } from '../../apps/api/src/sync/maintenance/sync-maintenance.repository';
import { SyncMaintenanceService } from '../../apps/api/src/sync/maintenance/sync-maintenance.service';
import { hasPgBouncer, PgBouncer, startPgBouncer } from '../support/pgbouncer';
import { readyWs } from '../support/realtime-clients';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The service through a real PgBouncer in transaction mode (Debian's pgbouncer, started here)
 * as overlays/pgbouncer deploys it: DATABASE_URL on the pooler with prepared statements off,
 * DATABASE_LISTEN_URL direct. The pooler has 2 server connections for a pool of 6 clients, so
 * consecutive transactions of one client land on different server sessions.
 */
(hasPgBouncer ? describe : describe.skip)('through PgBouncer (pool_mode = transaction)', () => {
  let db: TestDatabase;
  let bouncer: PgBouncer;
  let t: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    bouncer = await startPgBouncer(db.url, 2);
    t = await startTestApp(
      { DATABASE_URL: bouncer.through(db.url), DATABASE_LISTEN_URL: db.url, DB_PREPARED_STATEMENTS: 'false', DB_POOL_SIZE: '6' },
      { db },
    );
  });
  afterAll(async () => {
    await t?.close();
    await bouncer?.stop();
    await db?.drop();
  });

  it('the app really talks to the pooler, which keeps at most 2 server sessions', async () => {
    const via = new Client({ connectionString: bouncer.through(db.url) });
    await via.connect();
    const [{ port }] = (await via.query('SELECT inet_server_port() AS port')).rows;
    await via.end();
    expect(port).toBe(Number(new URL(db.url).port || 5432));
    const sessions = await withClient(db.url, (c) =>
      c.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name <> 'delta-sync-listener' AND pid <> pg_backend_pid()`,
      ),
    );
    expect(sessions.rows[0].n).toBeLessThanOrEqual(2);
    expect(t.app.get(DataSource).options).toMatchObject({ url: bouncer.through(db.url) });
  });

  it('sync core: pushes from 6 devices at once apply once each, pulls see them all, a stale write conflicts', async () => {
    const f = await createFamily(t);
    const pushes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        syncOk(t, f.token(), { device_id: `d${i}`, changes: [change({ entity_id: `task-${i}`, data: { title: `T${i}` } })] }),
      ),
    );
    expect(pushes.every((p) => p.applied.length === 1)).toBe(true);
    const fresh = await syncOk(t, f.token(), { device_id: 'fresh', changes: [] });
    expect(fresh.server_changes.map((c) => c.entity_id).sort()).toEqual(['task-0', 'task-1', 'task-2', 'task-3', 'task-4', 'task-5']);
    const stale = await syncOk(t, f.token(), {
      device_id: 'd0',
      changes: [
        change({ entity_id: 'task-1', action: 'update', version: 7, data: { title: 'stale' }, client_timestamp: '2020-01-01T00:00:00Z' }),
      ],
    });
    expect(stale.conflicts).toHaveLength(1);
    const retry = await syncOk(t, f.token(), { device_id: 'd0', changes: [change({ entity_id: 'task-0', data: { title: 'T0' } })] });
    expect(retry.errors).toEqual([]);
  });

  it('realtime: a push through the pooler pokes a stream, LISTEN being direct', async () => {
    const f = await createFamily(t, 'bob');
    const ws = await readyWs(t, f.token('bob'), 'tablet');
    try {
      const pushed = await syncOk(t, f.token('bob'), {
        device_id: 'phone',
        changes: [change({ entity_id: 'poke', data: { title: 'P' } })],
      });
      await ws.next((m) => m.type === 'poke' && m.last_changed_at === pushed.last_sync_at);
    } finally {
      ws.socket.close();
    }
  });

  it('maintenance: runs through the pooler under its transaction-level lock; a concurrent run skips', async () => {
    expect(await t.app.get(SyncMaintenanceService).runOnce()).toEqual({ tombstones: 0, receipts: 0, conflicts: 0, requests: 0 });
    const repo = t.app.get(SyncMaintenanceRepository);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = repo.whileLocked(7_346_001, async () => (started(), await gate, 'ran'));
    await running;
    expect(await repo.whileLocked(7_346_001, async () => 'second')).toBeUndefined();
    release();
    expect(await first).toBe('ran');
    expect(await repo.whileLocked(7_346_001, async () => 'after')).toBe('after');
  });
});
