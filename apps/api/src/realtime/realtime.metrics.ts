import { Injectable } from '@nestjs/common';
import { Counter, Gauge, register } from 'prom-client';
import type { Transport } from './stream-rules';

function metric<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

/** PROTOCOL 2.7 metrics, on the default registry that `/metrics` serves. */
@Injectable()
export class RealtimeMetrics {
  readonly open = metric(
    'sync_streams_open',
    () => new Gauge({ name: 'sync_streams_open', help: 'Open realtime streams on this instance', labelNames: ['transport'] }),
  );
  readonly pokes = metric(
    'sync_pokes_total',
    () => new Counter({ name: 'sync_pokes_total', help: 'Pokes sent to realtime streams (after coalescing)' }),
  );

  readonly listener = metric(
    'sync_listener_up',
    () => new Gauge({ name: 'sync_listener_up', help: 'Whether the LISTEN session for realtime pokes is connected (1) or not (0)' }),
  );

  constructor() {
    // Both series exist from the start (at 0); inc by 0 keeps another app's count in tests sharing the registry.
    for (const transport of ['ws', 'sse'] as const) this.open.inc({ transport }, 0);
  }

  opened(transport: Transport): void {
    this.open.inc({ transport });
  }

  closed(transport: Transport): void {
    this.open.dec({ transport });
  }

  listening(up: boolean): void {
    this.listener.set(up ? 1 : 0);
  }

  poked(): void {
    this.pokes.inc();
  }
}
