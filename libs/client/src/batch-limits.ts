import { SyncHttpError } from './delta-transport.js';
import { utf8 } from './platform.js';
import { OutgoingChange } from './types.js';

/** Below the server's default SYNC_MAX_BODY (5 MB), leaving room for the envelope. */
export const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

/** What to do after the server refused a batch. */
export type Refusal =
  /** Nothing was applied; send a smaller batch. */
  | 'smaller'
  /** A batch of one change the server refuses on its own. */
  | 'change'
  /** Not about the batch (auth, a bad envelope): fail the round. */
  | 'round';

/**
 * How many changes, and how many bytes of them, go in one request. Both start from the
 * options and follow what the server says: a 400 `batch_too_large` names its
 * SYNC_MAX_BATCH, a 413 halves the byte budget (below the refused body's size). A 400 on
 * a batch splits it in halves for the rest of the round, down to the change it refuses.
 * Refused requests applied nothing (PROTOCOL 2), so resending parts of them is safe.
 */
export class BatchLimits {
  private split = Infinity;

  constructor(
    private count: number,
    private bytes: number,
  ) {}

  newRound(): void {
    this.split = Infinity;
  }

  /** The head of the outbox that fits (at least one change, however large). */
  take(outbox: readonly OutgoingChange[], remaining: number): OutgoingChange[] {
    const most = Math.max(0, Math.min(remaining, this.count, this.split));
    let size = 0;
    let n = 0;
    while (n < most) {
      size += utf8(JSON.stringify(outbox[n])).length + 1;
      if (n > 0 && size > this.bytes) break;
      n += 1;
    }
    return outbox.slice(0, n);
  }

  refused(err: unknown, batch: readonly OutgoingChange[]): Refusal {
    if (!(err instanceof SyncHttpError) || batch.length === 0) return 'round';
    if (err.status === 413) {
      if (batch.length === 1) return 'change';
      const sent = batch.reduce((n, c) => n + utf8(JSON.stringify(c)).length + 1, 0);
      this.bytes = Math.min(this.bytes, Math.floor(sent / 2));
      return 'smaller';
    }
    if (err.status !== 400) return 'round';
    const max = Number(err.details?.max);
    if (err.code === 'batch_too_large' && Number.isInteger(max) && max > 0 && max < batch.length) {
      this.count = max;
      return 'smaller';
    }
    if (batch.length === 1) {
      this.split = Infinity;
      return 'change';
    }
    this.split = Math.ceil(batch.length / 2);
    return 'smaller';
  }
}
