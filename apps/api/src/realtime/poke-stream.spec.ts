import { PokeStream, StreamMessage } from './poke-stream';
import { CloseCode } from './stream-rules';

/** Holds every write until the test releases it, like a socket whose peer reads slowly. */
class HeldStream extends PokeStream {
  written: string[] = [];
  ended?: CloseCode;
  private held: (() => void)[] = [];
  constructor() {
    super({ userId: 'u', familyId: 'f', deviceId: 'd', transport: 'ws' }, () => undefined);
  }
  protected write(message: StreamMessage, position: string, done: () => void): void {
    this.written.push(`${message} ${position}`);
    this.held.push(done);
  }
  protected end(code: CloseCode): void {
    this.ended = code;
  }
  release(): void {
    this.held.shift()?.();
  }
}

const P = (n: number) => `2025-01-01T00:00:00.${String(n).padStart(6, '0')}Z`;

describe('PokeStream', () => {
  it('sends nothing before ready; pokes that came meanwhile follow it as one', () => {
    const s = new HeldStream();
    s.poke(P(2));
    s.poke(P(3));
    expect(s.written).toEqual([]);
    s.ready(P(1));
    s.release();
    expect(s.written).toEqual([`ready ${P(1)}`, `poke ${P(3)}`]);
  });

  it('keeps only the latest position while a write is pending: no backlog', () => {
    const s = new HeldStream();
    s.ready(P(1));
    s.release();
    s.poke(P(2));
    for (let n = 3; n <= 500; n++) s.poke(P(n));
    s.release();
    s.release();
    expect(s.written).toEqual([`ready ${P(1)}`, `poke ${P(2)}`, `poke ${P(500)}`]);
  });

  it('never goes back to an older position; the same one again is sent (catch-up)', () => {
    const s = new HeldStream();
    s.ready(P(5));
    s.release();
    s.poke(P(4));
    s.poke(P(5));
    s.release();
    expect(s.written).toEqual([`ready ${P(5)}`, `poke ${P(5)}`]);
  });

  it('closes 4401 at the expiry instant, and at once when it is already past', () => {
    jest.useFakeTimers();
    try {
      const s = new HeldStream();
      s.expireAt(Date.now() + 1000);
      jest.advanceTimersByTime(999);
      expect(s.ended).toBeUndefined();
      jest.advanceTimersByTime(1);
      expect(s.ended).toBe(CloseCode.Unauthorized);
      const late = new HeldStream();
      late.expireAt(Date.now() - 1);
      expect(late.ended).toBe(CloseCode.Unauthorized);
    } finally {
      jest.useRealTimers();
    }
  });

  it('handles an expiry beyond the longest timer (24.8 days) without firing early', () => {
    jest.useFakeTimers();
    try {
      const s = new HeldStream();
      const days = 40;
      s.expireAt(Date.now() + days * 86_400_000);
      jest.advanceTimersByTime((days - 1) * 86_400_000);
      expect(s.ended).toBeUndefined();
      jest.advanceTimersByTime(86_400_000);
      expect(s.ended).toBe(CloseCode.Unauthorized);
    } finally {
      jest.useRealTimers();
    }
  });
});
