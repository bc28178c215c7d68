import type { IncomingMessage } from 'node:http';
import { ConfigService } from '@nestjs/config';
import { OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { RawData, WebSocket } from 'ws';
import { TokenVerifier, VerifiedToken } from '../auth/token-verifier';
import { FamilyMembershipRepository } from '../family/family-membership.repository';
import { fullBucket, MessageBucket, takeMessage } from './message-rate';
import { PendingConnections } from './pending-connections';
import { RealtimeMetrics } from './realtime.metrics';
import { RealtimeRepository } from './realtime.repository';
import { StreamHub } from './stream-hub';
import { CloseCode, deviceIdProblem } from './stream-rules';
import { isBacklogged, NOT_READING } from './ws-backlog';
import { keepAlive } from './ws-heartbeat';
import { WsPokeStream } from './ws-poke-stream';
import type { AppConfig } from '@app/config';
import { isUuid } from '@app/database';

/** PROTOCOL 2.7: the auth message must arrive within this time. */
export const AUTH_TIMEOUT_MS = 10_000;

class Refusal extends Error {
  constructor(
    readonly code: CloseCode,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * `GET /sync/ws`: the first message authenticates (`{"type":"auth","token","device_id"}`,
 * within 10 s; tokens never travel in a URL), the server answers `ready` and then pokes;
 * `{"type":"ping"}` gets `{"type":"pong"}`. Refusals close with the codes of PROTOCOL 2.7.
 * Messages are tiny: 16 KB is far above any token.
 *
 * PROTOCOL 2.13, so that one client cannot hurt the others: at most `SYNC_WS_MAX_PENDING`
 * connections per client address wait for their auth message (4429 above), a client sends at
 * most `SYNC_WS_MAX_MESSAGES_PER_SECOND` messages (1008 above), and one that does not read is
 * closed (1008) instead of being queued more than 1 MB.
 */
@WebSocketGateway({ path: '/sync/ws', maxPayload: 16 * 1024 })
export class SyncSocketGateway implements OnGatewayConnection {
  private readonly heartbeatMs: number;
  private readonly maxPending: number;
  private readonly maxPerSecond: number;
  private readonly pending: PendingConnections;

  constructor(
    private readonly tokens: TokenVerifier,
    private readonly memberships: FamilyMembershipRepository,
    private readonly repo: RealtimeRepository,
    private readonly hub: StreamHub,
    private readonly metrics: RealtimeMetrics,
    @InjectPinoLogger('Realtime') private readonly logger: PinoLogger,
    config: ConfigService<AppConfig, true>,
  ) {
    const sync = config.get('sync', { infer: true });
    this.heartbeatMs = sync.wsHeartbeatMs;
    this.maxPending = sync.wsMaxPending;
    this.maxPerSecond = sync.wsMaxMessagesPerSecond;
    this.pending = new PendingConnections(sync.wsMaxPending);
  }

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    // The TCP peer: behind a proxy that is the proxy (README "Realtime").
    const release = this.pending.add(request.socket.remoteAddress ?? '');
    if (!release) {
      return this.refuse(
        socket,
        new Refusal(CloseCode.TooMany, `more than ${this.maxPending} connections of this address waiting to authenticate`),
      );
    }
    socket.once('close', release);
    keepAlive(socket, this.heartbeatMs);
    const timeout = setTimeout(() => this.refuse(socket, new Refusal(CloseCode.AuthTimeout, 'no auth message in time')), AUTH_TIMEOUT_MS);
    let stream: WsPokeStream | undefined;
    const violation = (reason: string) =>
      stream ? stream.close(CloseCode.PolicyViolation, reason) : this.refuse(socket, new Refusal(CloseCode.PolicyViolation, reason));
    let bucket: MessageBucket = fullBucket(this.maxPerSecond, Date.now());
    let first = true;
    socket.on('message', (data: RawData) => {
      if (socket.readyState !== socket.OPEN) return;
      if (this.maxPerSecond > 0) {
        const left = takeMessage(bucket, Date.now(), this.maxPerSecond);
        if (!left) return violation(`more than ${this.maxPerSecond} messages per second`);
        bucket = left;
      }
      const message = parse(data);
      if (!first) {
        if (message?.type !== 'ping') return;
        if (isBacklogged(socket)) return violation(NOT_READING);
        socket.send('{"type":"pong"}');
        return;
      }
      first = false;
      clearTimeout(timeout);
      void this.authenticate(socket, message).then((admitted) => {
        stream = admitted;
        // Admitted: no longer waiting. A refused connection counts until it has closed.
        if (admitted) release();
      });
    });
    socket.once('close', () => clearTimeout(timeout));
  }

  /** The admitted stream (it has sent `ready`), or undefined when the connection was refused. */
  private async authenticate(socket: WebSocket, message: Record<string, unknown> | undefined): Promise<WsPokeStream | undefined> {
    let verified: VerifiedToken;
    let deviceId: string;
    try {
      if (message?.type !== 'auth' || typeof message.token !== 'string') {
        throw new Refusal(CloseCode.Unauthorized, 'first message must be {"type":"auth","token","device_id"}');
      }
      verified = await this.tokens.verify(message.token).catch(() => {
        throw new Refusal(CloseCode.Unauthorized, 'invalid or expired token');
      });
      const problem = deviceIdProblem(message.device_id);
      // Not a code of PROTOCOL 2.7 (those are about the caller): 1008, policy violation, naming the field.
      if (problem) throw new Refusal(CloseCode.PolicyViolation, problem);
      deviceId = message.device_id as string;
      const { familyId, userId } = verified.caller;
      if (!familyId) throw new Refusal(CloseCode.Forbidden, 'token has no familyId claim');
      if (!isUuid(familyId) || !(await this.memberships.roleOf(familyId, userId))) {
        throw new Refusal(CloseCode.Forbidden, 'not a member of the family');
      }
    } catch (error) {
      if (!(error instanceof Refusal)) this.logger.error({ err: (error as Error).message }, 'stream admission failed');
      this.refuse(socket, error instanceof Refusal ? error : new Refusal(1011 as CloseCode, 'internal error'));
      return undefined;
    }
    if (socket.readyState !== socket.OPEN) return undefined;
    const { familyId, userId } = verified.caller as { familyId: string; userId: string };
    const stream = new WsPokeStream(
      socket,
      { userId, familyId, deviceId, transport: 'ws' },
      () => this.metrics.poked(),
      (s, code) => this.hub.closed(s, code),
    );
    if (!this.hub.open(stream)) {
      this.refuse(socket, new Refusal(CloseCode.TooMany, 'too many open streams for this user'));
      return undefined;
    }
    stream.expireAt(verified.expiresAtMs);
    try {
      stream.ready(await this.repo.position(familyId));
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, 'reading the family position failed');
      stream.close(1011 as CloseCode, 'internal error');
    }
    return stream;
  }

  private refuse(socket: WebSocket, refusal: Refusal): void {
    this.logger.info({ transport: 'ws', code: refusal.code, reason: refusal.message }, 'stream refused');
    if (socket.readyState === socket.OPEN) socket.close(refusal.code, refusal.message);
  }
}

function parse(data: RawData): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data.toString());
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
