import { backoffDelay, RetryPolicy } from './backoff.js';
import { platform, WebSocketConstructor, WebSocketLike } from './platform.js';

export type LiveState = 'connecting' | 'open' | 'off' | 'stopped';

export interface LiveConnectionOptions {
  /** `ws(s)://host/sync/ws` */
  url: string;
  WebSocket: WebSocketConstructor;
  deviceId: string;
  getToken: (ctx: { afterUnauthorized: boolean }) => Promise<string>;
  retry: Pick<RetryPolicy, 'baseMs' | 'maxMs'>;
  random: () => number;
  /** A `ready` or `poke`: the family's newest commit position. */
  onPoke: (lastChangedAt: string) => void;
  onState: (state: LiveState) => void;
  onError: (error: Error) => void;
  /** How often to ping; a connection silent for two intervals is dropped and reopened. */
  pingIntervalMs?: number;
}

/** Close codes of PROTOCOL 2.7. */
export const CLOSE = { unauthorized: 4401, forbidden: 4403, authTimeout: 4408, tooManyStreams: 4429, restart: 1012 } as const;

/**
 * The WebSocket of PROTOCOL 2.7: authenticates with its first message, turns `ready` and
 * `poke` into onPoke, pings, and reconnects with backoff and jitter until stopped.
 * 4401 asks getToken for a fresh token and reconnects at once (then backs off if it
 * repeats); 4403 (no longer a member) stops for good; 4429 backs off from a longer delay;
 * 1012 (server restarting) reconnects after a short jittered pause.
 */
export class LiveConnection {
  private socket: WebSocketLike | null = null;
  private stopped = false;
  private failures = 0;
  private refreshToken = false;
  private timer: unknown = undefined;
  private pinger: unknown = undefined;
  private lastHeard = 0;

  constructor(private readonly opts: LiveConnectionOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    if (s && s.readyState <= 1) s.close(1000, 'client stopped');
    this.opts.onState('off');
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.opts.onState('connecting');
    let token: string;
    try {
      token = await this.opts.getToken({ afterUnauthorized: this.refreshToken });
    } catch (err) {
      this.opts.onError(err instanceof Error ? err : new Error(String(err)));
      return this.reconnectLater(this.delay(++this.failures));
    }
    if (this.stopped) return;
    this.refreshToken = false;
    let socket: WebSocketLike;
    try {
      socket = new this.opts.WebSocket(this.opts.url);
    } catch (err) {
      this.opts.onError(err instanceof Error ? err : new Error(String(err)));
      return this.reconnectLater(this.delay(++this.failures));
    }
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token, device_id: this.opts.deviceId }));
    socket.onmessage = (ev) => this.onMessage(socket, ev.data);
    socket.onerror = () => undefined; // onclose follows and decides
    socket.onclose = (ev) => this.onClose(socket, ev.code);
  }

  private onMessage(socket: WebSocketLike, raw: unknown): void {
    if (socket !== this.socket) return;
    this.lastHeard = Date.now();
    let msg: { type?: unknown; last_changed_at?: unknown };
    try {
      msg = JSON.parse(typeof raw === 'string' ? raw : String(raw)) as typeof msg;
    } catch {
      return;
    }
    if (msg.type === 'ready') {
      this.failures = 0;
      this.opts.onState('open');
      this.startPinging(socket);
    }
    // `ready` too: what was committed while this device was not connected is pulled now.
    if ((msg.type === 'ready' || msg.type === 'poke') && typeof msg.last_changed_at === 'string') {
      this.opts.onPoke(msg.last_changed_at);
    }
  }

  private onClose(socket: WebSocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimers();
    if (this.stopped) return;
    this.failures += 1;
    switch (code) {
      case CLOSE.forbidden:
        this.stopped = true;
        this.opts.onState('stopped');
        this.opts.onError(new Error('live: closed with 4403 (not or no longer a member of the family); not reconnecting'));
        return;
      case CLOSE.unauthorized:
        this.refreshToken = true;
        return this.reconnectLater(this.failures <= 1 ? 0 : this.delay(this.failures));
      case CLOSE.tooManyStreams:
        return this.reconnectLater(this.delay(this.failures + 3));
      case CLOSE.restart:
        return this.reconnectLater(Math.round(this.opts.random() * this.opts.retry.baseMs));
      default:
        return this.reconnectLater(this.delay(this.failures));
    }
  }

  private startPinging(socket: WebSocketLike): void {
    const every = this.opts.pingIntervalMs ?? 25_000;
    const tick = () => {
      if (socket !== this.socket || this.stopped) return;
      if (Date.now() - this.lastHeard > 2 * every) {
        // Silent too long (a dead proxy or network): drop it; onclose reconnects.
        socket.close(4000, 'no answer to ping');
        return;
      }
      socket.send(JSON.stringify({ type: 'ping' }));
      this.pinger = platform.setTimeout(tick, every);
    };
    this.pinger = platform.setTimeout(tick, every);
  }

  private reconnectLater(ms: number): void {
    this.opts.onState('connecting');
    this.timer = platform.setTimeout(() => void this.connect(), ms);
  }

  private delay(failures: number): number {
    return backoffDelay(failures, { ...this.opts.retry, maxAttempts: Infinity }, this.opts.random);
  }

  private clearTimers(): void {
    if (this.timer !== undefined) platform.clearTimeout(this.timer);
    if (this.pinger !== undefined) platform.clearTimeout(this.pinger);
    this.timer = this.pinger = undefined;
  }
}
