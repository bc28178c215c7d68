import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, FamilyFixture } from '../support/sync-fixtures';

/**
 * SIGTERM runs Nest's shutdown (enableShutdownHooks -> app.close()): the server stops
 * accepting, in-flight requests finish, then the pool closes. Here app.close() is called
 * while a sync waits for its family lock, held by another session.
 */
describe('graceful shutdown', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let blocker: Client;

  beforeAll(async () => {
    t = await startTestApp();
    f = await createFamily(t);
    blocker = new Client({ connectionString: t.db.url });
    await blocker.connect();
  });
  afterAll(async () => {
    await blocker.end().catch(() => undefined);
    await t.db.drop();
  });

  it('drains an in-flight sync before the pool closes, and refuses new connections', async () => {
    const post = (body: object) =>
      fetch(`${t.baseUrl}/sync/delta`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${f.token()}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ device_id: 'd1', ...body }),
      });
    // A first write creates the family's lock row.
    expect((await post({ changes: [change({ entity_id: 'first', data: { title: 'First' } })] })).status).toBe(200);

    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [f.familyId]);
    const inFlight = post({ changes: [change({ entity_id: 'drained', data: { title: 'Survives shutdown' } })] });
    await waitFor(async () => {
      const { rows } = await blocker.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return rows[0].n === 1;
    });

    const dataSource = t.app.get(DataSource);
    let closed = false;
    const closing = t.app.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closed).toBe(false);
    expect(dataSource.isInitialized).toBe(true);
    await expect(fetch(`${t.baseUrl}/health/live`)).rejects.toThrow();

    await blocker.query('COMMIT');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, applied: [{ entity_id: 'drained', version: 1 }] });
    await closing;
    expect(dataSource.isInitialized).toBe(false);

    const { rows } = await blocker.query("SELECT version FROM tasks WHERE family_id = $1 AND id = 'drained'", [f.familyId]);
    expect(rows).toEqual([{ version: 1 }]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
