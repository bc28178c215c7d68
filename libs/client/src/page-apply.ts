import { ClientLifecycle } from './client-lifecycle.js';
import { Log } from './client-log.js';
import { ClientStatus } from './client-status.js';
import { Emitter } from './emitter.js';
import { LocalStore } from './local-store.js';
import { CREATE_DEFAULTS } from './local-view.js';
import { applyResponse } from './response-apply.js';
import { SyncClientOptions } from './sync-client.options.js';
import { DeltaResponse, entityKey, OutgoingChange, SyncClientEvents } from './types.js';

/**
 * Takes one response in: what applyResponse computes from it is stored atomically
 * (replica, outbox, watermark, the outcome of each change sent), then other tabs and the
 * listeners are told.
 */
export class PageApplier {
  constructor(
    private readonly opts: Pick<SyncClientOptions, 'createDefaults'>,
    private readonly life: ClientLifecycle,
    private readonly local: LocalStore,
    private readonly status: ClientStatus,
    private readonly events: Emitter<SyncClientEvents>,
    private readonly log: Log,
  ) {}

  async apply(batch: OutgoingChange[], res: DeltaResponse): Promise<void> {
    const page = applyResponse(this.local.replica, batch, res, this.opts.createDefaults ?? CREATE_DEFAULTS);
    const affected = new Set([...page.entities.keys(), ...batch.map((c) => entityKey(c.entity_type, c.entity_id))]);
    if (res.resync_required) for (const key of this.local.replica.keys()) affected.add(key);
    const before = new Map([...affected].map((key) => [key, this.local.view(key)]));
    const failed = new Map(page.errors.map(({ error, change }) => [change, error.code]));
    const conflicted = new Map(page.conflicts.flatMap((c) => (c.change ? [[c.change, c.resolution] as const] : [])));
    const statuses = batch.map((c) =>
      failed.has(c)
        ? this.local.statusWrite([c], 'error', () => failed.get(c))
        : conflicted.has(c)
          ? this.local.statusWrite([c], 'conflict', () => conflicted.get(c))
          : this.local.statusWrite([c], 'applied'),
    );
    page.write.putChanges = statuses.flatMap((w) => w.putChanges ?? []);
    page.write.deleteChanges = statuses.flatMap((w) => w.deleteChanges ?? []);
    for (const { error, change } of page.errors)
      this.log('error', 'the server refused a change', { ...error, change_id: change.change_id });
    await this.local.applyPage(page, batch, res.resync_required, res.last_sync_at);
    this.local.backlog = res.backlog ?? null;
    // Each answered change has left the outbox, so each outcome is reported exactly once.
    const { tabs } = this.life;
    tabs?.post({ kind: 'replica', from: tabs.id, keys: [...affected], resync: res.resync_required });
    for (const { error, change } of page.errors) this.events.emit('error', { kind: 'change', error, change });
    for (const conflict of page.conflicts) this.events.emit('conflict', conflict);
    this.status.emitChanges(before, 'server');
  }
}
