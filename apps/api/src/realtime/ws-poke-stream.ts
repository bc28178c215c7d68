import type { WebSocket } from 'ws';
import { PokeStream, StreamIdentity, StreamMessage } from './poke-stream';
import { CloseCode } from './stream-rules';
import { isBacklogged, NOT_READING } from './ws-backlog';

/** A stream over a WebSocket: JSON text messages, the close code says why it ended. */
export class WsPokeStream extends PokeStream {
  constructor(
    private readonly socket: WebSocket,
    identity: StreamIdentity,
    onPokeSent: () => void,
    onGone: (stream: WsPokeStream, code: number) => void,
  ) {
    super(identity, onPokeSent);
    socket.once('close', (code: number) => {
      this.markClosed(code);
      onGone(this, this.closeCode ?? code);
    });
  }

  protected write(message: StreamMessage, position: string, done: () => void): void {
    if (this.socket.readyState !== this.socket.OPEN) return done();
    if (isBacklogged(this.socket)) {
      // Closed first: `done` may hand over a waiting poke, which must find the stream closed.
      this.close(CloseCode.PolicyViolation, NOT_READING);
      return done();
    }
    this.socket.send(`{"type":"${message}","last_changed_at":"${position}"}`, () => done());
  }

  protected end(code: CloseCode, reason: string): void {
    this.socket.close(code, reason);
  }
}
