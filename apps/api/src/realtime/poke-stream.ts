import { CloseCode, isNewer, MAX_TIMER_MS, Transport } from './stream-rules';

export interface StreamIdentity {
  userId: string;
  familyId: string;
  deviceId: string;
  transport: Transport;
}

export type StreamMessage = 'ready' | 'poke';

/**
 * One open realtime stream, whatever its transport. Coalesces: while a message is being
 * written (the transport has not yet handed it to the kernel), newer positions replace the
 * one waiting, so a slow reader gets the latest position and never a backlog. The stream is
 * "busy" until `ready` went out: pokes that arrive while the connection is being admitted wait.
 */
export abstract class PokeStream {
  readonly openedAt = Date.now();
  closed = false;
  /** Set by whoever closed it: the code sent (WebSocket) or the reason the stream ended (SSE). */
  closeCode?: number;
  private lastSent?: string;
  private pending?: string;
  private busy = true;
  private expiry?: NodeJS.Timeout;

  constructor(
    readonly identity: StreamIdentity,
    private readonly onPokeSent: () => void,
  ) {}

  /** Writes one message; calls `done` once it is handed over (or failed). */
  protected abstract write(message: StreamMessage, position: string, done: () => void): void;
  /** Ends the transport with this code and reason. */
  protected abstract end(code: CloseCode, reason: string): void;

  /** Sends `ready` with the family's position when admitted, then whatever arrived meanwhile. */
  ready(position: string): void {
    if (this.closed) return;
    this.lastSent = position;
    this.write('ready', position, () => this.drained());
  }

  poke(position: string): void {
    // Never back to an older position; the same one again is allowed (catch-up after a reconnect).
    if (this.closed || isNewer(this.lastSent ?? '', position)) return;
    if (this.busy) {
      if (isNewer(position, this.pending)) this.pending = position;
      return;
    }
    this.busy = true;
    this.lastSent = position;
    this.onPokeSent();
    this.write('poke', position, () => this.drained());
  }

  close(code: CloseCode, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    clearTimeout(this.expiry);
    this.end(code, reason);
  }

  /** Closes with 4401 at the token's expiry instant (now, when it is already past). */
  expireAt(epochMs: number): void {
    const delay = epochMs - Date.now();
    if (delay <= 0) return this.close(CloseCode.Unauthorized, 'token expired');
    this.expiry = setTimeout(
      () => (delay > MAX_TIMER_MS ? this.expireAt(epochMs) : this.close(CloseCode.Unauthorized, 'token expired')),
      Math.min(delay, MAX_TIMER_MS),
    );
    this.expiry.unref();
  }

  /** The transport is gone (closed by either side): no more writes, no timer. */
  protected markClosed(code: number): void {
    if (!this.closed) {
      this.closed = true;
      this.closeCode = code;
    }
    clearTimeout(this.expiry);
  }

  private drained(): void {
    this.busy = false;
    const next = this.pending;
    this.pending = undefined;
    if (next !== undefined) this.poke(next);
  }
}
