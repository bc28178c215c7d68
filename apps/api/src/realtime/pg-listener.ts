import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { Client, Notification } from 'pg';
import type { AppConfig } from '@app/config';
import { DATABASE_SERVER } from '@app/database';
import type { DatabaseServer } from '@app/database';
import { MEMBER_REMOVED_CHANNEL, MemberRemovedNotice } from '../family/member-removed-notice';
import { COMMIT_CHANNEL, CommitNotice } from '../sync/pull/commit-notice';
import { RealtimeMetrics } from './realtime.metrics';
import { RealtimeRepository } from './realtime.repository';
import { StreamHub } from './stream-hub';

/** `application_name` of the listener's session (pg_stat_activity). */
export const LISTENER_APPLICATION_NAME = 'delta-sync-listener';
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

/**
 * The instance's one LISTEN session: a plain pg Client of its own (a pooled connection
 * would be handed to requests; a transaction-mode pooler cannot LISTEN at all, hence
 * DATABASE_LISTEN_URL). Notifications of commits and member removals made on any instance
 * go to the hub. The session is lost on a database restart or a killed backend: it comes
 * back with backoff, and then catches up (positions and memberships may have moved
 * meanwhile, their notifications lost). No pg error ever escapes: every client has an
 * 'error' listener.
 */
@Injectable()
export class PgListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly url: string;
  private client?: Client;
  private retry?: NodeJS.Timeout;
  private attempt = 0;
  private stopped = false;

  constructor(
    private readonly hub: StreamHub,
    private readonly repo: RealtimeRepository,
    private readonly metrics: RealtimeMetrics,
    @InjectPinoLogger('RealtimeListener') private readonly logger: PinoLogger,
    @Inject(DATABASE_SERVER) db: DatabaseServer,
    config: ConfigService<AppConfig, true>,
  ) {
    this.url = config.get('database', { infer: true }).listenUrl ?? db.url;
  }

  /** The first attempt is awaited (streams are served once it listens); a failure only schedules the next. */
  async onApplicationBootstrap(): Promise<void> {
    await this.connect();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Whether the session is up and listening (tests, diagnostics). */
  get listening(): boolean {
    return this.client !== undefined && this.attempt === 0;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.url, application_name: LISTENER_APPLICATION_NAME, keepAlive: true });
    this.client = client;
    this.attempt += 1;
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => this.receive(message));
    try {
      await client.connect();
      await client.query(`LISTEN ${COMMIT_CHANNEL}; LISTEN ${MEMBER_REMOVED_CHANNEL}`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.client !== client) return;
    const reconnected = this.attempt > 1;
    this.attempt = 0;
    this.metrics.listening(true);
    this.logger.info({ reconnected }, 'listening for commits');
    await this.catchUp(client);
  }

  /** Idempotent per client: 'error' and 'end' both arrive for one loss. */
  lost(client: Client, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.metrics.listening(false);
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.stopped) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, this.attempt - 1)) * (0.8 + Math.random() * 0.4);
    this.logger.warn({ err: error?.message, retryInMs: Math.round(delay) }, 'listener connection lost');
    this.retry = setTimeout(() => void this.connect(), delay);
  }

  private receive(message: Notification): void {
    try {
      const notice = JSON.parse(message.payload ?? '');
      if (message.channel === COMMIT_CHANNEL) {
        const { f, p, d } = notice as CommitNotice;
        this.hub.commit(
          f,
          p,
          Array.isArray(d) ? d.filter((id): id is string => typeof id === 'string') : typeof d === 'string' ? d : undefined,
        );
      } else if (message.channel === MEMBER_REMOVED_CHANNEL) {
        const { f, u } = notice as MemberRemovedNotice;
        this.hub.removeMember(f, u);
      }
    } catch (error) {
      this.logger.error({ err: (error as Error).message, channel: message.channel }, 'unreadable notification');
    }
  }

  /** Notifications sent while the session was down are lost: re-read what they would have said. */
  private async catchUp(client: Client): Promise<void> {
    const families = this.hub.families();
    if (families.length === 0) return;
    try {
      const members = this.hub.members();
      const current = await this.repo.members(client, members);
      for (const m of members) {
        if (!current.has(`${m.familyId}\u0000${m.userId}`)) this.hub.removeMember(m.familyId, m.userId);
      }
      this.hub.catchUp(await this.repo.positions(client, families));
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'catch-up after reconnect failed');
    }
  }
}
