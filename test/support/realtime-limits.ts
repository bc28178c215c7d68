import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createFamily, FamilyFixture } from './sync-fixtures';
import { WsClient } from './realtime-clients';
import { startTestApp, TestApp } from './test-app';

/** Another loopback address: a client that is not the one flooding from 127.0.0.1. */
export const OTHER_ADDRESS = '127.0.0.2';

/** The close, or `open` if the socket is still open after `ms`. */
export const closeWithin = (client: WsClient, ms: number) =>
  Promise.race([client.closed.then(({ code, reason }) => `${code} ${reason}`), sleep(ms, 'open', { ref: false })]);

/**
 * A full collection before each reading, so that garbage of a flood (parsed pings, written
 * frames) is not counted: what stays is what the server keeps.
 */
export function memoryMb(): { rss: number; kept: number } {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss: rss / 2 ** 20, kept: (heapUsed + external) / 2 ** 20 };
}

/** For one describe block: an app with these settings and alice's family. */
export function appWithFamily(env: Record<string, string> = {}): { t: TestApp; f: FamilyFixture } {
  const app = {} as { t: TestApp; f: FamilyFixture };
  beforeAll(async () => {
    app.t = await startTestApp(env);
    app.f = await createFamily(app.t, 'alice');
  });
  afterAll(async () => {
    await app.t?.close();
  });
  return app;
}

/** Sockets a test opened, terminated after each test. */
export function trackedSockets(): (client: WsClient) => WsClient {
  const open: WsClient[] = [];
  afterEach(() => {
    for (const client of open.splice(0)) client.socket.terminate();
  });
  return (client) => (open.push(client), client);
}
