import WebSocket from 'ws';
import { TestApp } from './test-app';

export interface RealtimeMessage {
  type: string;
  last_changed_at?: string;
  code?: number;
}

/**
 * A realtime client that records every message; `next` waits for the first unread message
 * matching a predicate (earlier unmatched ones stay readable in `messages`).
 */
abstract class Recorder {
  readonly messages: RealtimeMessage[] = [];
  private waiters: { match: (m: RealtimeMessage) => boolean; resolve: (m: RealtimeMessage) => void }[] = [];

  protected record(message: RealtimeMessage): void {
    this.messages.push(message);
    for (const w of [...this.waiters]) {
      if (w.match(message)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(message);
      }
    }
  }

  next(match: (m: RealtimeMessage) => boolean, timeoutMs = 10_000, what = 'message'): Promise<RealtimeMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`)),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  pokes(): string[] {
    return this.messages.filter((m) => m.type === 'poke').map((m) => m.last_changed_at!);
  }
}

export class WsClient extends Recorder {
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly socket: WebSocket) {
    super();
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (data) => this.record(JSON.parse(data.toString())));
    socket.on('error', () => undefined);
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** A ping answered: every message the server wrote before it has arrived. */
  async roundTrip(): Promise<void> {
    const before = this.messages.filter((m) => m.type === 'pong').length;
    this.send({ type: 'ping' });
    await this.next(() => this.messages.filter((m) => m.type === 'pong').length > before, 10_000, 'pong');
  }

  close(): void {
    this.socket.close();
  }
}

export function wsUrl(t: TestApp): string {
  return `${t.baseUrl.replace(/^http/, 'ws')}/sync/ws`;
}

/** Opens the socket (no auth message yet); `localAddress`: connect from this address (e.g. 127.0.0.2). */
export async function connectWs(t: TestApp, headers: Record<string, string> = {}, localAddress?: string): Promise<WsClient> {
  const socket = new WebSocket(wsUrl(t), { headers, localAddress });
  const client = new WsClient(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return client;
}

/** Opens, authenticates and waits for `ready`. */
export async function readyWs(t: TestApp, token: string, deviceId: string, localAddress?: string): Promise<WsClient> {
  const client = await connectWs(t, {}, localAddress);
  client.send({ type: 'auth', token, device_id: deviceId });
  await client.next((m) => m.type === 'ready', 10_000, 'ready');
  return client;
}

export class SseClient extends Recorder {
  readonly ended: Promise<void>;
  private readonly abort = new AbortController();

  constructor(readonly response: Response) {
    super();
    this.ended = this.read().catch(() => undefined);
  }

  close(): void {
    this.abort.abort();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  private async read(): Promise<void> {
    const reader = this.response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (block.startsWith(':')) this.record({ type: 'comment' });
        else if (event) this.record({ type: event, ...JSON.parse(data ?? '{}') });
      }
    }
  }
}

/** GET /sync/stream; resolves with the response (status not asserted) and a reader of its events. */
export async function openSse(
  t: TestApp,
  token: string | undefined,
  deviceId: string | undefined,
): Promise<{ status: number; client: SseClient; body?: unknown }> {
  const abort = new AbortController();
  const query = deviceId === undefined ? '' : `?device_id=${encodeURIComponent(deviceId)}`;
  const response = await fetch(`${t.baseUrl}/sync/stream${query}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal: abort.signal,
  });
  if (response.status !== 200) return { status: response.status, client: undefined as never, body: await response.json() };
  const client = new SseClient(response);
  client.signal.addEventListener('abort', () => abort.abort());
  return { status: response.status, client };
}

export async function readySse(t: TestApp, token: string, deviceId: string): Promise<SseClient> {
  const { status, client, body } = await openSse(t, token, deviceId);
  if (status !== 200) throw new Error(`expected 200, got ${status}: ${JSON.stringify(body)}`);
  await client.next((m) => m.type === 'ready', 10_000, 'ready');
  return client;
}
