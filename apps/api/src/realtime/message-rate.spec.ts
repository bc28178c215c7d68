import { fullBucket, MessageBucket, takeMessage } from './message-rate';

/** Sends one message at each time; returns how many were admitted before the first refusal. */
function admitted(times: number[], perSecond = 20): number {
  let bucket: MessageBucket | undefined = fullBucket(perSecond, 0);
  for (const [i, t] of times.entries()) {
    bucket = takeMessage(bucket, t, perSecond);
    if (!bucket) return i;
  }
  return times.length;
}

const every = (count: number, gapMs: number, from = 0) => Array.from({ length: count }, (_, i) => from + i * gapMs);

describe('takeMessage (20 a second)', () => {
  it('admits a burst of 20 and refuses the 21st', () => {
    expect(admitted(every(20, 0))).toBe(20);
    expect(admitted(every(21, 0))).toBe(20);
  });

  it('admits one message a second, and exactly 20 a second, for a minute', () => {
    expect(admitted(every(60, 1000))).toBe(60);
    expect(admitted(every(1200, 50))).toBe(1200);
  });

  it('refuses 25 a second kept up, once the burst allowance is used', () => {
    // Before message k there are 20 - 0.2k tokens: message 96 (3.84 s in) finds 0.8.
    expect(admitted(every(200, 40))).toBe(96);
  });

  it('refills after a pause, but never beyond the burst', () => {
    const burst = [...every(20, 0), ...every(21, 0, 60_000)];
    expect(admitted(burst)).toBe(40);
  });

  it('refills in proportion to the time passed', () => {
    // 20 at once, then 10 more 500 ms later (10 tokens back), then an 11th at the same instant.
    expect(admitted([...every(20, 0), ...every(10, 0, 500)])).toBe(30);
    expect(admitted([...every(20, 0), ...every(11, 0, 500)])).toBe(30);
  });

  it('gives nothing back when the clock goes back', () => {
    expect(admitted([...every(20, 0, 10_000), 5_000])).toBe(20);
  });

  it('follows another rate', () => {
    expect(admitted(every(3, 0), 2)).toBe(2);
  });
});
