import { Client } from 'pg';
import { mintToken } from '@app/testing';
import { createFamilyVia, severalInstancesSuite, waitForLockWaiter } from '../support/several-instances-helpers';

/**
 * SHUTDOWN_DRAIN_MS of the compiled service: an instance on a database migrated by the
 * migration Job's command whose request is stuck behind the family lock when it gets SIGTERM.
 * The instances serving load are several-instances.long-spec.ts.
 */
jest.setTimeout(240_000);

describe('several instances on one database', () => {
  const { dbUrl, start } = severalInstancesSuite('drain', { migrated: true });

  it('SHUTDOWN_DRAIN_MS: an instance whose request is stuck behind a lock exits (code 1) when the bound passes, and the cut request stored nothing', async () => {
    const d = await start('d', { LOG_LEVEL: 'error', SHUTDOWN_DRAIN_MS: '1000' });
    const blocker = new Client({ connectionString: dbUrl() });
    await blocker.connect();
    try {
      const familyId = await createFamilyVia(d, 'drain-owner');
      const token = mintToken({ sub: 'drain-owner', familyId });
      const post = (entity_id: string) =>
        fetch(`${d.baseUrl}/sync/delta`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            device_id: 'p',
            changes: [
              { entity_type: 'task', entity_id, action: 'create', data: { title: entity_id }, client_timestamp: new Date().toISOString() },
            ],
          }),
        });
      expect((await post('first')).status).toBe(200);
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [familyId]);
      const stuck = post('stuck').then(
        (r) => r.status,
        (e: Error) => e.name,
      );
      await waitForLockWaiter(blocker);
      const stoppedAt = Date.now();
      d.child.kill('SIGTERM');
      const exit = await d.exited;
      expect(exit).toEqual({ code: 1, signal: null });
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(900);
      expect(d.output()).toMatch(/requests still in flight 1000 ms after SIGTERM/);
      expect(await stuck).not.toBe(200);
      await blocker.query('COMMIT');
      const { rows } = await blocker.query('SELECT id FROM tasks WHERE family_id = $1 ORDER BY id', [familyId]);
      expect(rows).toEqual([{ id: 'first' }]);
    } finally {
      d.child.kill('SIGKILL');
      await blocker.end();
    }
  });
});
