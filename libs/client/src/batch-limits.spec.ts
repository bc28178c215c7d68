import { BatchLimits } from './batch-limits.js';
import { SyncHttpError } from './delta-transport.js';
import { OutgoingChange } from './types.js';

const change = (i: number, size = 10): OutgoingChange => ({
  change_id: `c${i}`,
  entity_type: 'task',
  entity_id: `t${i}`,
  action: 'create',
  data: { title: 'x'.repeat(size) },
  client_timestamp: '2025-01-01T00:00:00Z',
});
const outbox = Array.from({ length: 20 }, (_, i) => change(i, 1000));
const http = (status: number, code?: string, details?: Record<string, unknown>) => new SyncHttpError('refused', status, code, details);

describe('BatchLimits', () => {
  it('takes at most `count` changes and `bytes` of them, but always one', () => {
    expect(new BatchLimits(5, 1e9).take(outbox, 20)).toHaveLength(5);
    expect(new BatchLimits(500, 1e9).take(outbox, 3)).toHaveLength(3);
    expect(new BatchLimits(500, 3500).take(outbox, 20)).toHaveLength(3);
    expect(new BatchLimits(500, 10).take(outbox, 20)).toHaveLength(1);
    expect(new BatchLimits(500, 10).take([], 0)).toHaveLength(0);
  });

  it('a 413 halves the byte budget below the refused body; a single change too large is refused on its own', () => {
    const limits = new BatchLimits(500, 1e9);
    const batch = limits.take(outbox, 20);
    expect(limits.refused(http(413), batch)).toBe('smaller');
    expect(limits.take(outbox, 20)).toHaveLength(10);
    expect(limits.refused(http(413), [outbox[0]])).toBe('change');
  });

  it("a 400 batch_too_large follows the server's max; any other 400 splits the batch down to one change", () => {
    const limits = new BatchLimits(500, 1e9);
    expect(limits.refused(http(400, 'batch_too_large', { max: 7 }), outbox)).toBe('smaller');
    expect(limits.take(outbox, 20)).toHaveLength(7);
    const sizes: number[] = [];
    for (
      let batch = limits.take(outbox, 20);
      limits.refused(http(400, 'validation'), batch) === 'smaller';
      batch = limits.take(outbox, 20)
    ) {
      sizes.push(batch.length);
    }
    expect(sizes).toEqual([7, 4, 2]);
    // After the refused change, whole batches again; a new round starts unsplit.
    expect(limits.take(outbox, 20)).toHaveLength(7);
  });

  it('auth, other statuses, network errors and an empty push fail the round', () => {
    const limits = new BatchLimits(500, 1e9);
    expect(limits.refused(http(403), outbox)).toBe('round');
    expect(limits.refused(new Error('offline'), outbox)).toBe('round');
    expect(limits.refused(http(400), [])).toBe('round');
  });
});
