import { ConfigService } from '@nestjs/config';
import { OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { RawData, WebSocket } from 'ws';
import { TokenVerifier, VerifiedToken } from '../auth/token-verifier';
import { FamilyMembershipRepository } from '../family/family-membership.repository';
import { RealtimeMetrics } from './realtime.metrics';
import { RealtimeRepository } from './realtime.repository';
import { StreamHub } from './stream-hub';
import { CloseCode, deviceIdProblem } from './stream-rules';
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
 */
@WebSocketGateway({ path: '/sync/ws', maxPayload: 16 * 1024 })
export class SyncSocketGateway implements OnGatewayConnection {
  private readonly heartbeatMs: number;

  constructor(
    private readonly tokens: TokenVerifier,
    private readonly memberships: FamilyMembershipRepository,
    private readonly repo: RealtimeRepository,
    private readonly hub: StreamHub,
    private readonly metrics: RealtimeMetrics,
    @InjectPinoLogger('Realtime') private readonly logger: PinoLogger,
    config: ConfigService<AppConfig, true>,
  ) {
    this.heartbeatMs = config.get('sync', { infer: true }).wsHeartbeatMs;
  }

  handleConnection(socket: WebSocket): void {
    keepAlive(socket, this.heartbeatMs);
    const timeout = setTimeout(() => this.refuse(socket, new Refusal(CloseCode.AuthTimeout, 'no auth message in time')), AUTH_TIMEOUT_MS);
    let first = true;
    socket.on('message', (data: RawData) => {
      const message = parse(data);
      if (!first) {
        if (message?.type === 'ping' && socket.readyState === socket.OPEN) socket.send('{"type":"pong"}');
        return;
      }
      first = false;
      clearTimeout(timeout);
      void this.authenticate(socket, message);
    });
    socket.once('close', () => clearTimeout(timeout));
  }

  private async authenticate(socket: WebSocket, message: Record<string, unknown> | undefined): Promise<void> {
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
      if (problem) throw new Refusal(1008 as CloseCode, problem);
      deviceId = message.device_id as string;
      const { familyId, userId } = verified.caller;
      if (!familyId) throw new Refusal(CloseCode.Forbidden, 'token has no familyId claim');
      if (!isUuid(familyId) || !(await this.memberships.roleOf(familyId, userId))) {
        throw new Refusal(CloseCode.Forbidden, 'not a member of the family');
      }
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(socket, error);
      this.logger.error({ err: (error as Error).message }, 'stream admission failed');
      return this.refuse(socket, new Refusal(1011 as CloseCode, 'internal error'));
    }
    if (socket.readyState !== socket.OPEN) return;
    const { familyId, userId } = verified.caller as { familyId: string; userId: string };
    const stream = new WsPokeStream(
      socket,
      { userId, familyId, deviceId, transport: 'ws' },
      () => this.metrics.poked(),
      (s, code) => this.hub.closed(s, code),
    );
    if (!this.hub.open(stream)) {
      return this.refuse(socket, new Refusal(CloseCode.TooManyStreams, 'too many open streams for this user'));
    }
    stream.expireAt(verified.expiresAtMs);
    try {
      stream.ready(await this.repo.position(familyId));
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, 'reading the family position failed');
      stream.close(1011 as CloseCode, 'internal error');
    }
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
