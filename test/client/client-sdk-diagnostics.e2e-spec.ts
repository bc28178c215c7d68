import { MemoryStorage, SyncLogger } from '@delta-sync/client';
import { sdkClient } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Diagnostics (issue 24): every change's fate is stored with the replica and readable
 * after a restart, a refused change reaches the logger even with no `error` listener,
 * and the server's own record of the device is one call away.
 */
describe('client SDK diagnostics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  it('per-change statuses survive a restart; a refused change is logged; deviceHistory() is the server record', async () => {
    const f = await createFamily(t, 'alice');
    await f.addMember('bob');
    const storage = new MemoryStorage();
    const logged: [string, string, unknown][] = [];
    const logger: SyncLogger = {
      warn: (m, fields) => logged.push(['warn', m, fields]),
      error: (m, fields) => logged.push(['error', m, fields]),
    };
    const phone = await sdkClient(t, f, 'diag-phone', { storage, logger });
    const tablet = await sdkClient(t, f, 'diag-tablet', { user: 'bob' });
    await phone.create('task', 'ok', { title: 'fine' });
    await phone.create('task', 'bad', { title: 'bad', points: 'many' });
    await phone.sync();
    await tablet.sync();
    await tablet.update('task', 'ok', { title: 'tablet first' });
    await tablet.sync();
    await phone.update('task', 'ok', { title: 'phone later, based on v1' });
    expect(phone.changes().map((c) => c.status)).toEqual(['applied', 'error', 'pending']);
    await phone.sync();
    await phone.stop();

    const again = await sdkClient(t, f, 'diag-phone', { storage, logger: null });
    const statuses = again.changes().map((c) => [c.entity_id, c.action, c.status, c.code]);
    expect(statuses).toEqual([
      ['ok', 'create', 'applied', undefined],
      ['bad', 'create', 'error', expect.any(String)],
      // Based on v1 while the tablet wrote v2: the server merges by field times, the later title wins.
      ['ok', 'update', 'applied', undefined],
    ]);
    expect(logged).toContainEqual(['error', 'delta-sync: the server refused a change', expect.objectContaining({ entity_id: 'bad' })]);

    const history = await again.deviceHistory(10);
    expect(history.map((h) => [h.entity_id, h.action, h.outcome])).toEqual([
      ['ok', 'update', expect.stringMatching(/^(conflict|merged|applied)$/)],
      ['bad', 'create', 'error'],
      ['ok', 'create', 'applied'],
    ]);
    expect(history[1].code).toBe(statuses[1][3]);
    await Promise.all([again.stop(), tablet.stop()]);
  });
});
