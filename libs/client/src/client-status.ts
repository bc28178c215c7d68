import { ClientLifecycle } from './client-lifecycle.js';
import { Emitter } from './emitter.js';
import { LiveQueries } from './live-query.js';
import { LocalStore } from './local-store.js';
import { ChangeEvent, Entity, StatusEvent, SyncClientEvents } from './types.js';

type Activity = Pick<StatusEvent, 'state' | 'live'>;

/**
 * The `status` and `change` events: the state of this client's rounds and socket (or, in a
 * follower tab, the leader's), and which entities a write changed as `get` shows them.
 */
export class ClientStatus {
  private round: StatusEvent['state'] = 'idle';
  private socket: StatusEvent['live'] = 'off';
  /** The leader tab's last round state and socket, shown by a follower. */
  private leader: Activity | null = null;

  constructor(
    private readonly life: ClientLifecycle,
    private readonly local: LocalStore,
    private readonly events: Emitter<SyncClientEvents>,
    private readonly queries: LiveQueries,
  ) {}

  /** This client's own round state (a follower's status shows the leader's instead). */
  get state(): StatusEvent['state'] {
    return this.round;
  }

  current(): StatusEvent {
    const { outbox, lastSyncAt, backlog } = this.local;
    const { tabs } = this.life;
    const tab = !tabs ? 'only' : tabs.isLeader ? 'leader' : 'follower';
    // A follower shows the leader's rounds and socket: they are this device's.
    const { state, live } = tab === 'follower' && this.leader ? this.leader : { state: this.round, live: this.socket };
    return { state, pending: outbox.length, lastSyncAt, backlog, live, tab };
  }

  setState(state: StatusEvent['state']): void {
    this.round = state;
    this.emit();
  }

  setLive(live: StatusEvent['live']): void {
    this.socket = live;
    this.emit();
  }

  /** What the leader tab posted of its rounds and socket. */
  setLeader(activity: Activity): void {
    this.leader = activity;
    this.emit();
  }

  /** The `status` event; a leader tab posts it to its followers as well. */
  emit(): void {
    const status = this.current();
    const { tabs } = this.life;
    if (status.tab === 'leader') tabs?.post({ kind: 'status', from: tabs.id, state: status.state, live: status.live });
    this.events.emit('status', status);
  }

  /**
   * A `change` event for each entity whose view differs from the one it had `before`, then
   * the live queries (once for the whole write: one page is one notification), then the status.
   */
  emitChanges(before: ReadonlyMap<string, Entity | undefined>, origin: ChangeEvent['origin']): void {
    const changed: string[] = [];
    for (const [key, was] of before) {
      const entity = this.local.view(key);
      if (JSON.stringify(entity) === JSON.stringify(was)) continue;
      changed.push(key);
      const [entity_type, entity_id] = key.split('\u0000');
      this.events.emit('change', { entity_type, entity_id, origin, entity });
    }
    this.queriesChanged(changed);
    this.emit();
  }

  /** Tells the live queries which entities one write changed. */
  queriesChanged(keys: Iterable<string>): void {
    this.queries.changed(keys, (key) => this.local.view(key));
  }
}
