import { StatusEvent } from '@delta-sync/client';
import { Exchange, recordingFetch, sdkClient, serverState } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** The client SDK under the server's rate limit (PROTOCOL 2.4: 429 with Retry-After). */
describe('client SDK and the rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '2', SYNC_RATE_LIMIT_WINDOW: '3s' });
  });
  afterAll(() => t?.close());

  // Waits for the server's window to pass: up to 3 s (SYNC_RATE_LIMIT_WINDOW).
  it('a 429 waits for Retry-After, then the same request goes through', async () => {
    const f = await createFamily(t);
    const log: Exchange[] = [];
    const client = await sdkClient(t, f, 'limited-1', { fetch: recordingFetch(log) });
    const states: StatusEvent['state'][] = [];
    client.on('status', (s) => states.push(s.state));
    await client.sync();
    await client.sync();
    await client.create('task', 'r1', { title: 'after the limit' });
    await client.sync();

    expect(log.map((e) => e.status)).toEqual([200, 200, 429, 200]);
    const retryAfterMs = Number(log[2].retryAfter) * 1000;
    expect(retryAfterMs).toBeGreaterThan(0);
    // Not before the server said so (the client sleeps exactly Retry-After).
    expect(log[3].at - log[2].at).toBeGreaterThanOrEqual(retryAfterMs - 50);
    expect(log[3].body).toBe(log[2].body);
    expect(states).toContain('waiting');
    expect(client.get('task', 'r1')?.version).toBe(1);
    expect(Object.keys(await serverState(t, f.familyId))).toEqual(['task:r1']);
    await client.stop();
  }, 120_000);
});
