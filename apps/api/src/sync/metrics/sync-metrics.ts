import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, register } from 'prom-client';
import type { DeltaResponseDto } from '../dto/delta-response.dto';

function metric<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

/** The sync metrics of PROTOCOL 3, on the default registry that `/metrics` serves. */
@Injectable()
export class SyncMetrics {
  readonly requests = metric(
    'sync_requests_total',
    () => new Counter({ name: 'sync_requests_total', help: 'POST /sync/delta requests by HTTP status', labelNames: ['status'] }),
  );
  readonly duration = metric(
    'sync_request_duration_seconds',
    () =>
      new Histogram({
        name: 'sync_request_duration_seconds',
        help: 'POST /sync/delta duration (seconds)',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }),
  );
  readonly changes = metric(
    'sync_changes_total',
    () =>
      new Counter({
        name: 'sync_changes_total',
        help: 'Client changes by entity type and outcome (applied, merged, conflict, error; a retry counts its original outcome)',
        labelNames: ['entity_type', 'outcome'],
      }),
  );
  readonly conflicts = metric(
    'sync_conflicts_total',
    () =>
      new Counter({
        name: 'sync_conflicts_total',
        help: 'Conflicts by entity type and resolution',
        labelNames: ['entity_type', 'resolution'],
      }),
  );
  readonly batchSize = metric(
    'sync_batch_size',
    () => new Histogram({ name: 'sync_batch_size', help: 'Changes per sync request', buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000] }),
  );
  readonly groupSize = metric(
    'sync_group_requests',
    () =>
      new Histogram({
        name: 'sync_group_requests',
        help: 'Pushes of one family committed together in one transaction (group commit)',
        buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32],
      }),
  );
  readonly pushesInFlight = metric(
    'sync_pushes_in_flight',
    () =>
      new Gauge({
        name: 'sync_pushes_in_flight',
        help: 'Pushes on this instance waiting for or running in their family group commit',
      }),
  );
  readonly recordsWritten = metric(
    'sync_requests_recorded_total',
    () => new Counter({ name: 'sync_requests_recorded_total', help: 'Push records written for replay and explain (PROTOCOL 2.11)' }),
  );
  readonly replays = metric(
    'sync_replays_total',
    () =>
      new Counter({
        name: 'sync_replays_total',
        help: 'Replays of push records (PROTOCOL 2.11), by whether every change replayed the same',
        labelNames: ['same'],
      }),
  );
  readonly backlog = metric(
    'sync_backlog_entities',
    () =>
      new Histogram({
        name: 'sync_backlog_entities',
        help: 'Lane-2 entities still to come after a pull that opted in to lanes (PROTOCOL 2.9; counted up to 10000)',
        buckets: [0, 10, 100, 1000, 5000, 10000],
      }),
  );
  readonly serverChanges = metric(
    'sync_server_changes_total',
    () => new Counter({ name: 'sync_server_changes_total', help: 'Entities sent to clients in server_changes' }),
  );

  /** Counts one sync's changes by outcome; `typeLabel` maps unknown client types to one label (bounded cardinality). */
  recordSync(batchSize: number, response: DeltaResponseDto, typeLabel: (entityType: string) => string): void {
    this.batchSize.observe(batchSize);
    if (response.backlog) this.backlog.observe(response.backlog[2]);
    this.serverChanges.inc(response.server_changes.length);
    const merged = new Set<string>();
    for (const c of response.conflicts) {
      this.conflicts.inc({ entity_type: typeLabel(c.entity_type), resolution: c.resolution });
      if (c.resolution === 'merged') merged.add(`${c.entity_type}\u0000${c.entity_id}`);
      else this.changes.inc({ entity_type: typeLabel(c.entity_type), outcome: 'conflict' });
    }
    for (const a of response.applied) {
      const outcome = merged.has(`${a.entity_type}\u0000${a.entity_id}`) ? 'merged' : 'applied';
      this.changes.inc({ entity_type: typeLabel(a.entity_type), outcome });
    }
    for (const e of response.errors) this.changes.inc({ entity_type: typeLabel(e.entity_type), outcome: 'error' });
  }
}
