import { ClientLifecycle } from './client-lifecycle.js';
import { Log } from './client-log.js';
import { ClientStatus } from './client-status.js';
import { LiveMode } from './live-mode.js';
import { LocalStore } from './local-store.js';
import { SyncStorage } from './storage.js';
import { TabCoordinator, TabMessage } from './tab-coordinator.js';

/**
 * The client's part in sharing one storage between tabs: the leader tab syncs and holds the
 * socket for all; a follower takes what the leader stores and shows the leader's status.
 */
export class TabSync {
  constructor(
    private readonly life: ClientLifecycle,
    private readonly local: LocalStore,
    private readonly status: ClientStatus,
    private readonly liveMode: LiveMode,
    private readonly log: Log,
    /** The client's sync(). */
    private readonly sync: () => Promise<void>,
  ) {}

  /** Joins the other tabs on the storage named `shared`; until elected, this tab merges nothing. */
  async start(shared: string, storage: SyncStorage): Promise<void> {
    this.local.mayMerge = false;
    this.life.tabs = new TabCoordinator({
      name: shared,
      lease: storage.lease?.bind(storage),
      onLeadership: (leader) =>
        void this.onLeadership(leader).catch((error: unknown) => this.log('error', 'taking over from another tab failed', { error })),
      onMessage: (message) =>
        void this.onMessage(message).catch((error: unknown) => this.log('error', "reading another tab's write failed", { error })),
    });
    await this.life.tabs.start();
  }

  /** This tab now leads (another closed) or no longer does (its lease lapsed). */
  private async onLeadership(leader: boolean): Promise<void> {
    this.log('info', leader ? 'this tab leads: it syncs for the others' : 'another tab leads now');
    this.local.mayMerge = leader;
    if (!leader) {
      this.local.stopMerging();
      this.liveMode.close();
      return this.status.emit();
    }
    // Another tab synced until now: start from what it stored.
    this.status.emitChanges(await this.local.refresh(true), 'server');
    if (this.life.stopped) return;
    if (this.life.liveWanted) this.liveMode.set(true);
    const asked = this.life.tabs?.takeAsks() ?? [];
    if (asked.length > 0 || (this.life.liveWanted && this.local.outbox.length > 0)) {
      const round = this.sync();
      round.catch(() => undefined);
      for (const ask of asked) round.then(ask.resolve, ask.reject);
    }
  }

  private async onMessage(message: TabMessage): Promise<void> {
    const { life } = this;
    switch (message.kind) {
      case 'outbox':
      case 'replica':
        // The leader only needs the outbox (it wrote the replica); a follower takes all.
        this.status.emitChanges(await this.local.refresh(!life.leads), message.kind === 'outbox' ? 'tab' : 'server');
        if (message.kind === 'outbox' && life.leads && this.liveMode.connected) this.sync().catch(() => undefined);
        return;
      case 'sync':
        if (life.leads) life.tabs?.serve(message.ask, () => this.sync());
        return;
      case 'synced':
        life.tabs?.answered(message.ask, message.error);
        return;
      case 'status':
        if (!life.leads) this.status.setLeader({ state: message.state, live: message.live });
        return;
      case 'bye':
        return;
    }
  }
}
