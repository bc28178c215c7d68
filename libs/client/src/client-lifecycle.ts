import { TabCoordinator } from './tab-coordinator.js';

/**
 * Where the client is in its life, read by every part that acts on its own (rounds, retry
 * timers, the socket, messages of other tabs) to decide whether it still may.
 */
export class ClientLifecycle {
  started = false;
  /** Set by stop(): no new round, no retry, and a sleeping round fails. */
  stopped = false;
  /** live(true) was asked and not undone. */
  liveWanted = false;
  /** Set when the storage is shared by tabs: only the leader tab syncs. */
  tabs: TabCoordinator | null = null;

  get leads(): boolean {
    return !this.tabs || this.tabs.isLeader;
  }

  assertStarted(): void {
    if (!this.started) throw new Error('SyncClient: call start() first');
  }
}
