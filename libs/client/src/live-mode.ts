import { RetryPolicy } from './backoff.js';
import { ClientLifecycle } from './client-lifecycle.js';
import { ClientStatus } from './client-status.js';
import { Emitter } from './emitter.js';
import { LiveConnection } from './live-connection.js';
import { LocalStore } from './local-store.js';
import { platform } from './platform.js';
import { serviceUrl } from './service-endpoints.js';
import { SyncClientOptions } from './sync-client.options.js';
import { SyncRounds } from './sync-rounds.js';
import { SyncClientEvents } from './types.js';

/**
 * Live mode (PROTOCOL 2.7): the device's one socket to `/sync/ws`, held by the leader tab;
 * a poke that names a newer commit position starts a round.
 */
export class LiveMode {
  private connection: LiveConnection | null = null;

  constructor(
    private readonly opts: SyncClientOptions,
    private readonly life: ClientLifecycle,
    private readonly local: LocalStore,
    private readonly retry: RetryPolicy,
    private readonly rounds: SyncRounds,
    private readonly status: ClientStatus,
    private readonly events: Emitter<SyncClientEvents>,
    /** The client's sync(). */
    private readonly sync: () => Promise<void>,
  ) {}

  /** A socket is open or opening: local changes sync at once. */
  get connected(): boolean {
    return this.connection !== null;
  }

  /** `live(on)`: opens the socket (in the leader tab) or closes it and hands the timing back to the app. */
  set(on: boolean): void {
    this.life.liveWanted = on && !this.life.stopped;
    if (!this.life.liveWanted) {
      this.rounds.forgetFailures();
      return this.close();
    }
    this.life.assertStarted();
    // One socket per device: the leader tab's.
    if (this.connection || !this.life.leads) return;
    const WebSocketCtor = this.opts.WebSocket ?? platform.WebSocket;
    if (!WebSocketCtor) throw new Error('live(true) needs a WebSocket: pass options.WebSocket (e.g. the ws package in Node 20)');
    this.connection = new LiveConnection({
      url: serviceUrl(this.opts, '/sync/ws').replace(/^http/, 'ws'),
      WebSocket: WebSocketCtor,
      deviceId: this.opts.deviceId,
      getToken: async (ctx) => this.opts.getToken(ctx),
      retry: this.retry,
      random: this.opts.random ?? Math.random,
      pingIntervalMs: this.opts.livePingMs,
      onPoke: (position) => {
        const known = this.local.lastSyncAt;
        // After a reconnect `ready` may carry the position already known while this
        // device's own edits still wait: the server never pokes the device that commits.
        if (known === null || position > known) this.sync().catch(() => undefined);
        else this.rounds.resume();
      },
      onState: (state) => this.status.setLive(state),
      onError: (error) => this.events.emit('error', { kind: 'sync', error }),
    });
    this.connection.start();
  }

  /** Closes the socket: live(false), or another tab leads now (live(true) is still wanted then). */
  close(): void {
    this.connection?.stop();
    this.connection = null;
    this.status.setLive('off');
  }
}
