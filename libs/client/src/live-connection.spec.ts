import { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { LiveConnection, LiveState } from './live-connection.js';
import { MemoryStorage } from './memory-storage.js';
import { FetchLike, WebSocketConstructor } from './platform.js';
import { SyncClient } from './sync-client.js';

/** A tiny PROTOCOL 2.7 server: records what clients send; `onAuth` decides the answer. */
class FakeWsServer {
  readonly wss = new WebSocketServer({ port: 0, path: '/sync/ws' });
  readonly auths: { token: string; device_id: string }[] = [];
  readonly pings: number[] = [];
  readonly sockets: WebSocket[] = [];
  onAuth: (socket: WebSocket, auth: { token: string }) => void = (s) =>
    s.send(JSON.stringify({ type: 'ready', last_changed_at: '2025-01-01T00:00:00.000000Z' }));

  constructor() {
    this.wss.on('connection', (socket) => {
      this.sockets.push(socket);
      socket.on('message', (raw) => {
        const msg = JSON.parse(raw.toString());
        if (msg.type === 'auth') {
          this.auths.push({ token: msg.token, device_id: msg.device_id });
          this.onAuth(socket, msg);
        } else if (msg.type === 'ping') {
          this.pings.push(Date.now());
          socket.send(JSON.stringify({ type: 'pong' }));
        }
      });
    });
  }
  get url() {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/sync/ws`;
  }
  get baseUrl() {
    return `http://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }
  poke(position: string) {
    for (const s of this.sockets) if (s.readyState === WebSocket.OPEN) s.send(JSON.stringify({ type: 'poke', last_changed_at: position }));
  }
  close() {
    for (const s of this.sockets) s.terminate();
    return new Promise((r) => this.wss.close(r));
  }
}

const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('LiveConnection (PROTOCOL 2.7 against a fake server)', () => {
  let server: FakeWsServer;
  let live: LiveConnection | undefined;
  beforeEach(() => {
    server = new FakeWsServer();
  });
  afterEach(async () => {
    live?.stop();
    await server.close();
  });

  function connect(over: { tokens?: string[]; onPoke?: (p: string) => void; pingIntervalMs?: number } = {}) {
    const states: LiveState[] = [];
    const errors: Error[] = [];
    const tokenCalls: boolean[] = [];
    const tokens = [...(over.tokens ?? ['t1', 't2', 't3', 't4'])];
    live = new LiveConnection({
      url: server.url,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      deviceId: 'dev-1',
      getToken: async ({ afterUnauthorized }) => {
        tokenCalls.push(afterUnauthorized);
        return tokens.shift() ?? 'last';
      },
      retry: { baseMs: 5, maxMs: 20 },
      random: () => 0.5,
      onPoke: over.onPoke ?? (() => undefined),
      onState: (s) => states.push(s),
      onError: (e) => errors.push(e),
      pingIntervalMs: over.pingIntervalMs,
    });
    live.start();
    return { states, errors, tokenCalls };
  }

  it('authenticates with its first message, reports ready and every poke', async () => {
    const pokes: string[] = [];
    const { states } = connect({ onPoke: (p) => pokes.push(p) });
    await until(() => states.includes('open'), 'ready');
    expect(server.auths).toEqual([{ token: 't1', device_id: 'dev-1' }]);
    server.poke('2025-01-01T00:00:01.000000Z');
    server.poke('2025-01-01T00:00:02.000000Z');
    await until(() => pokes.length === 3, 'pokes');
    expect(pokes).toEqual(['2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:01.000000Z', '2025-01-01T00:00:02.000000Z']);
  });

  it('4401: asks getToken for a fresh token (afterUnauthorized) and reconnects', async () => {
    server.onAuth = (s, auth) =>
      auth.token === 't1' ? s.close(4401, 'expired') : s.send(JSON.stringify({ type: 'ready', last_changed_at: 'p' }));
    const { states, tokenCalls } = connect();
    await until(() => states.filter((s) => s === 'open').length === 1, 'reconnect');
    expect(server.auths.map((a) => a.token)).toEqual(['t1', 't2']);
    expect(tokenCalls).toEqual([false, true]);
  });

  it('4403: stops for good and reports the error', async () => {
    server.onAuth = (s) => s.close(4403, 'not a member');
    const { states, errors } = connect();
    await until(() => states.includes('stopped'), 'stopped');
    await new Promise((r) => setTimeout(r, 100));
    expect(server.auths).toHaveLength(1);
    expect(errors[0].message).toContain('4403');
  });

  it('4429, 1012 and a dropped connection: reconnects with backoff, each time with a new auth message', async () => {
    let n = 0;
    server.onAuth = (s) => {
      n += 1;
      if (n === 1) s.close(4429, 'too many streams');
      else if (n === 2) s.close(1012, 'restarting');
      else if (n === 3) s.terminate();
      else s.send(JSON.stringify({ type: 'ready', last_changed_at: 'p' }));
    };
    const { states } = connect();
    await until(() => states.includes('open'), 'open after three failures');
    expect(server.auths).toHaveLength(4);
  });

  it('pings while open and gets pongs', async () => {
    const { states } = connect({ pingIntervalMs: 20 });
    await until(() => states.includes('open'), 'open');
    await until(() => server.pings.length >= 3, 'pings');
    expect(states.filter((s) => s === 'open')).toHaveLength(1);
  });

  it('stop() closes the socket and does not reconnect', async () => {
    const { states } = connect();
    await until(() => states.includes('open'), 'open');
    live!.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(server.auths).toHaveLength(1);
    expect(states[states.length - 1]).toBe('off');
  });
});

describe('SyncClient.live', () => {
  it('a poke newer than the watermark triggers a sync; a known position does not', async () => {
    const server = new FakeWsServer();
    const bodies: { last_sync_at: string | null }[] = [];
    let position = 0;
    const fakeFetch: FetchLike = async (_url, init) => {
      bodies.push(JSON.parse(init.body as string));
      position += 1;
      const body = {
        server_changes: [],
        conflicts: [],
        errors: [],
        applied: [],
        has_more: false,
        resync_required: false,
        success: true,
        applied_count: 0,
        error_count: 0,
        last_sync_at: `2025-01-01T00:00:0${position}.000000Z`,
      };
      return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify(body) };
    };
    const client = new SyncClient({
      baseUrl: server.baseUrl,
      deviceId: 'dev-1',
      getToken: () => 'tok',
      storage: new MemoryStorage(),
      fetch: fakeFetch,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    await client.start();
    client.live(true);
    // `ready` with a position: the first sync.
    await until(() => bodies.length === 1 && client.lastSyncAt !== null, 'sync after ready');
    server.poke('2025-01-01T00:00:01.000000Z'); // already known
    server.poke('2025-01-01T00:00:05.000000Z');
    await until(() => bodies.length === 2, 'sync after poke');
    expect(bodies.map((b) => b.last_sync_at)).toEqual([null, '2025-01-01T00:00:01.000000Z']);
    await client.stop();
    await server.close();
  });

  it('without a WebSocket on the platform and none passed, live(true) says what to pass', async () => {
    const client = new SyncClient({ baseUrl: 'http://x', deviceId: 'd', getToken: () => 't' });
    await client.start();
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
    try {
      expect(() => client.live(true)).toThrow('options.WebSocket');
    } finally {
      (globalThis as { WebSocket?: unknown }).WebSocket = saved;
    }
  });
});
