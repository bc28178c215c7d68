import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { AppConfig } from '@app/config';
import { PokeStream } from './poke-stream';
import { RealtimeMetrics } from './realtime.metrics';
import { CloseCode } from './stream-rules';

/** Pokes of one family go out at most once per this interval (the first at once, the latest at the end). */
export const FAMILY_POKE_INTERVAL_MS = 100;
/** How long shutdown waits for clients to receive their 1012 before the HTTP drain. */
const SHUTDOWN_CLOSE_WAIT_MS = 2000;

interface FamilyWindow {
  timer: NodeJS.Timeout;
  pending?: { position: string; deviceIds: readonly string[] };
}

/**
 * Every open stream of this instance, by family and by user. Commits from any instance
 * arrive here (PgListener) and fan out to the family's streams: per family at most one
 * dispatch per interval, carrying the latest position, and never to the device(s) that made
 * that latest commit (their own responses already carried everything up to it; a group
 * commit names several).
 */
@Injectable()
export class StreamHub implements BeforeApplicationShutdown {
  private readonly byFamily = new Map<string, Set<PokeStream>>();
  private readonly perUser = new Map<string, number>();
  private readonly windows = new Map<string, FamilyWindow>();
  private readonly maxPerUser: number;
  private shuttingDown = false;

  constructor(
    private readonly metrics: RealtimeMetrics,
    @InjectPinoLogger('Realtime') private readonly logger: PinoLogger,
    config: ConfigService<AppConfig, true>,
  ) {
    this.maxPerUser = config.get('sync', { infer: true }).maxStreamsPerUser;
  }

  /** Admits a stream, unless its user already holds the limit (or the instance is stopping). */
  open(stream: PokeStream): boolean {
    const { userId, familyId, transport } = stream.identity;
    const count = this.perUser.get(userId) ?? 0;
    if (count >= this.maxPerUser || this.shuttingDown) return false;
    this.perUser.set(userId, count + 1);
    const streams = this.byFamily.get(familyId) ?? new Set();
    this.byFamily.set(familyId, streams.add(stream));
    this.metrics.opened(transport);
    this.logger.info({ ...stream.identity }, 'stream open');
    return true;
  }

  /** Called by the transport once the stream is gone, whoever ended it. */
  closed(stream: PokeStream, code: number): void {
    const { userId, familyId, transport } = stream.identity;
    const streams = this.byFamily.get(familyId);
    if (!streams?.delete(stream)) return;
    if (streams.size === 0) this.byFamily.delete(familyId);
    const count = (this.perUser.get(userId) ?? 1) - 1;
    if (count === 0) this.perUser.delete(userId);
    else this.perUser.set(userId, count);
    this.metrics.closed(transport);
    this.logger.info({ ...stream.identity, durationMs: Date.now() - stream.openedAt, code }, 'stream closed');
  }

  /** A commit on any instance; `deviceId`: the device(s) not to poke (none: poke all). */
  commit(familyId: string, position: string, deviceId?: string | readonly string[]): void {
    if (!this.byFamily.has(familyId)) return;
    const deviceIds = deviceId === undefined ? [] : typeof deviceId === 'string' ? [deviceId] : deviceId;
    const window = this.windows.get(familyId);
    if (window) {
      // The latest position wins (positions are fixed-width ISO strings: they sort as text).
      if (!window.pending || window.pending.position <= position) window.pending = { position, deviceIds };
      return;
    }
    this.dispatch(familyId, position, deviceIds);
  }

  /** After the listener reconnected: every stream of each family gets the current position. */
  catchUp(positions: Map<string, string>): void {
    for (const [familyId, position] of positions) {
      for (const stream of this.byFamily.get(familyId) ?? []) stream.poke(position);
    }
  }

  /** The user is no longer a member of the family: 4403 for their streams of it. */
  removeMember(familyId: string, userId: string): void {
    for (const stream of this.byFamily.get(familyId) ?? []) {
      if (stream.identity.userId === userId) stream.close(CloseCode.Forbidden, 'no longer a member of the family');
    }
  }

  families(): string[] {
    return [...this.byFamily.keys()];
  }

  members(): { familyId: string; userId: string }[] {
    const pairs = new Map<string, { familyId: string; userId: string }>();
    for (const streams of this.byFamily.values()) {
      for (const { identity } of streams) pairs.set(`${identity.familyId}\u0000${identity.userId}`, identity);
    }
    return [...pairs.values()].map(({ familyId, userId }) => ({ familyId, userId }));
  }

  streams(): PokeStream[] {
    return [...this.byFamily.values()].flatMap((s) => [...s]);
  }

  /** SIGTERM: every stream closes with 1012 before the HTTP server drains (the drain would wait for them). */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const window of this.windows.values()) clearTimeout(window.timer);
    this.windows.clear();
    const open = this.streams();
    for (const stream of open) stream.close(CloseCode.ShuttingDown, 'server shutting down, reconnect');
    const until = Date.now() + SHUTDOWN_CLOSE_WAIT_MS;
    while (this.byFamily.size > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private dispatch(familyId: string, position: string, deviceIds: readonly string[]): void {
    for (const stream of this.byFamily.get(familyId) ?? []) {
      if (!deviceIds.includes(stream.identity.deviceId)) stream.poke(position);
    }
    const window: FamilyWindow = {
      timer: setTimeout(() => {
        this.windows.delete(familyId);
        if (window.pending && this.byFamily.has(familyId)) this.dispatch(familyId, window.pending.position, window.pending.deviceIds);
      }, FAMILY_POKE_INTERVAL_MS),
    };
    this.windows.set(familyId, window);
  }
}
