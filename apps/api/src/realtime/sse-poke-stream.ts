import type { Response } from 'express';
import { PokeStream, StreamIdentity, StreamMessage } from './poke-stream';
import { CloseCode } from './stream-rules';

/**
 * A stream of server-sent events: `event: ready|poke` with `data: {"last_changed_at"}`.
 * When the server ends it, a last `event: end` says why, with the WebSocket close code
 * (4401 token expired, 4403 no longer a member, 1012 shutting down).
 */
export class SsePokeStream extends PokeStream {
  constructor(
    private readonly response: Response,
    identity: StreamIdentity,
    onPokeSent: () => void,
    onGone: (stream: SsePokeStream, code: number) => void,
  ) {
    super(identity, onPokeSent);
    // The client went away (or the server ended the response).
    response.once('close', () => {
      this.markClosed(CloseCode.GoingAway);
      onGone(this, this.closeCode ?? CloseCode.GoingAway);
    });
  }

  protected write(message: StreamMessage, position: string, done: () => void): void {
    if (this.response.writableEnded || this.response.destroyed) return done();
    this.response.write(`event: ${message}\ndata: {"last_changed_at":"${position}"}\n\n`, () => done());
  }

  /** A comment line: proxies see traffic and keep the connection. */
  keepAlive(): void {
    if (!this.closed && !this.response.writableEnded) this.response.write(':\n\n');
  }

  protected end(code: CloseCode, reason: string): void {
    if (this.response.writableEnded) return;
    this.response.end(`event: end\ndata: ${JSON.stringify({ code, reason })}\n\n`);
  }
}
