import { BatchLimits } from './batch-limits.js';
import { Log } from './client-log.js';
import { DeltaSenderOptions, sendDelta } from './delta-sender.js';
import { SyncHttpError } from './delta-transport.js';
import { LocalStore } from './local-store.js';
import { SyncClientOptions } from './sync-client.options.js';
import { DeltaRequest, DeltaResponse, OutgoingChange } from './types.js';

/**
 * Sends one batch of the outbox with the pull that goes with it, and turns a batch the
 * server refuses as a whole into a smaller batch or, for a single change, into that
 * change's own error.
 */
export class BatchPusher {
  constructor(
    private readonly opts: Pick<SyncClientOptions, 'deviceId' | 'pageLimit' | 'lanes' | 'patches'>,
    private readonly local: LocalStore,
    private readonly limits: BatchLimits,
    private readonly log: Log,
  ) {}

  /**
   * One request; undefined when the server refused the batch as a whole and a smaller one
   * should go instead. A single change it refuses on its own comes back as a per-change
   * error on the answer of a pull (which also tells it from a refused envelope).
   */
  async push(sender: DeltaSenderOptions, batch: OutgoingChange[]): Promise<DeltaResponse | undefined> {
    this.local.markSent(batch);
    try {
      return await sendDelta(sender, this.request(batch));
    } catch (err) {
      const refusal = this.limits.refused(err, batch);
      if (refusal !== 'round')
        this.log('info', 'the server refused a batch: sending less', { changes: batch.length, status: (err as SyncHttpError).status });
      if (refusal === 'smaller') return undefined;
      if (refusal === 'round') throw err;
      const pulled = await sendDelta(sender, this.request([]));
      const { status, code, message } = err as SyncHttpError;
      const [{ entity_type, entity_id }] = batch;
      const error = { index: 0, entity_type, entity_id, code: code ?? (status === 413 ? 'payload_too_large' : 'bad_request'), message };
      return { ...pulled, errors: [error], error_count: 1, success: false };
    }
  }

  private request(changes: OutgoingChange[]): DeltaRequest {
    return {
      device_id: this.opts.deviceId,
      last_sync_at: this.local.lastSyncAt,
      changes,
      ...(this.opts.pageLimit ? { limit: this.opts.pageLimit } : {}),
      ...(this.opts.lanes === false ? {} : { lanes: this.local.lanes }),
      ...(this.opts.patches === false ? {} : { patches: true }),
    };
  }
}
