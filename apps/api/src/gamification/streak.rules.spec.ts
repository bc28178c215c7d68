import { isoToMicros } from '@app/sync-contract';
import { computeStreak, Streak, utcDay } from './streak.rules';

/** The UTC day number of an ISO date-time (via the protocol's own parser). */
const day = (iso: string): number => utcDay(isoToMicros(iso)!);

/** A fixed "today": 2025-06-15 (UTC); `d(n)` is n days relative to it. */
const TODAY = day('2025-06-15T12:00:00Z');
const d = (offset: number) => TODAY + offset;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => d(from + i));

describe('utcDay', () => {
  it.each<[string, string, number]>([
    ['the epoch', '1970-01-01T00:00:00Z', 0],
    ['the last microsecond of the first day', '1970-01-01T23:59:59.999999Z', 0],
    ['the first microsecond of the second day', '1970-01-02T00:00:00.000000Z', 1],
    ['one microsecond before the epoch', '1969-12-31T23:59:59.999999Z', -1],
    ['the day before the epoch', '1969-12-31T00:00:00Z', -1],
    ['2025-06-15 at noon', '2025-06-15T12:00:00Z', 20254],
  ])('%s', (_name, iso, expected) => {
    expect(day(iso)).toBe(expected);
  });

  it.each<[string, string, string, number]>([
    ['23:59:59.999999Z and 00:00Z the next day are consecutive days', '2025-06-14T23:59:59.999999Z', '2025-06-15T00:00:00Z', 1],
    ['01:30 at +02:00 is 23:30Z of the previous UTC day', '2025-06-15T01:30:00+02:00', '2025-06-14T12:00:00Z', 0],
    ['21:00 at -05:00 is 02:00Z of the next UTC day', '2025-06-14T21:00:00-05:00', '2025-06-15T02:00:00Z', 0],
    ['00:00 at +14:00 is 10:00Z of the previous UTC day', '2025-06-15T00:00:00+14:00', '2025-06-14T10:00:00Z', 0],
  ])('UTC boundaries: %s', (_name, a, b, daysBetween) => {
    expect(day(b) - day(a)).toBe(daysBetween);
  });

  it('00:00:00.000000Z starts the day it names and 23:59:59.999999Z ends it', () => {
    expect(day('2025-06-15T00:00:00.000000Z')).toBe(TODAY);
    expect(day('2025-06-15T23:59:59.999999Z')).toBe(TODAY);
    expect(day('2025-06-16T00:00:00.000000Z')).toBe(TODAY + 1);
  });
});

describe('computeStreak', () => {
  it.each<[string, number[], Streak]>([
    // nothing, one day
    ['no completions', [], { currentStreak: 0, longestStreak: 0 }],
    ['one completion today', [d(0)], { currentStreak: 1, longestStreak: 1 }],
    ['one completion yesterday keeps the run current', [d(-1)], { currentStreak: 1, longestStreak: 1 }],
    ['one completion two days ago: the run is broken', [d(-2)], { currentStreak: 0, longestStreak: 1 }],
    ['one completion long ago', [d(-400)], { currentStreak: 0, longestStreak: 1 }],

    // same-day completions and duplicates count as one day
    ['three completions on the same day', [d(0), d(0), d(0)], { currentStreak: 1, longestStreak: 1 }],
    ['duplicates inside a run', [d(-2), d(-1), d(-1), d(0), d(0)], { currentStreak: 3, longestStreak: 3 }],

    // yesterday vs today
    ['run ending today', range(-2, 0), { currentStreak: 3, longestStreak: 3 }],
    ['run ending yesterday (today not done yet)', range(-3, -1), { currentStreak: 3, longestStreak: 3 }],
    ['run ending the day before yesterday is not current', range(-4, -2), { currentStreak: 0, longestStreak: 3 }],

    // gaps
    ['one-day gap splits the run', [d(-3), d(-2), d(0)], { currentStreak: 1, longestStreak: 2 }],
    ['gap right before yesterday', [d(-5), d(-4), d(-3), d(-1)], { currentStreak: 1, longestStreak: 3 }],
    ['every other day', [d(-6), d(-4), d(-2), d(0)], { currentStreak: 1, longestStreak: 1 }],

    // longest vs current
    ['longest run in the past, short current run', [...range(-20, -11), ...range(-1, 0)], { currentStreak: 2, longestStreak: 10 }],
    ['current run is the longest', [...range(-20, -19), ...range(-5, 0)], { currentStreak: 6, longestStreak: 6 }],
    ['equal past and current runs', [...range(-10, -8), ...range(-2, 0)], { currentStreak: 3, longestStreak: 3 }],
    ['longest run in the past and no current run', [...range(-30, -11)], { currentStreak: 0, longestStreak: 20 }],

    // order does not matter
    ['unsorted days', [d(0), d(-2), d(-1), d(-5)], { currentStreak: 3, longestStreak: 3 }],
    ['reverse order with duplicates', [d(0), d(0), d(-1), d(-1), d(-2), d(-4), d(-4)], { currentStreak: 3, longestStreak: 3 }],

    // a completion dated up to the clock-skew clamp ahead (just after midnight UTC)
    ['completion dated tomorrow by the clamp continues the run', [d(-1), d(0), d(1)], { currentStreak: 3, longestStreak: 3 }],
    ['tomorrow alone', [d(1)], { currentStreak: 1, longestStreak: 1 }],

    // runs of 7 and 30 (badge thresholds)
    ['7 days ending today', range(-6, 0), { currentStreak: 7, longestStreak: 7 }],
    ['6 days ending today', range(-5, 0), { currentStreak: 6, longestStreak: 6 }],
    ['30 days ending yesterday', range(-30, -1), { currentStreak: 30, longestStreak: 30 }],
    ['29 days, then a gap, then 1', [...range(-31, -3), d(-1)], { currentStreak: 1, longestStreak: 29 }],
  ])('%s', (_name, days, expected) => {
    expect(computeStreak(days, TODAY)).toEqual(expected);
  });

  it('across a month and a year boundary', () => {
    const days = ['2024-12-30T10:00:00Z', '2024-12-31T23:59:59Z', '2025-01-01T00:00:00Z', '2025-01-02T08:00:00Z'].map(day);
    expect(computeStreak(days, day('2025-01-02T20:00:00Z'))).toEqual({ currentStreak: 4, longestStreak: 4 });
    expect(computeStreak(days, day('2025-01-04T00:00:00Z'))).toEqual({ currentStreak: 0, longestStreak: 4 });
  });

  it('completions on both sides of UTC midnight are two days, local midnight is not a boundary', () => {
    const lateEvening = day('2025-06-14T23:30:00Z');
    const justAfter = day('2025-06-15T00:30:00Z');
    expect(computeStreak([lateEvening, justAfter], TODAY)).toEqual({ currentStreak: 2, longestStreak: 2 });
    // 23:30 and 01:30 at +02:00 are 21:30 and 23:30 UTC: one day
    const local = ['2025-06-14T23:30:00+02:00', '2025-06-15T01:30:00+02:00'].map(day);
    expect(computeStreak(local, TODAY)).toEqual({ currentStreak: 1, longestStreak: 1 });
  });

  it('does not modify its input', () => {
    const days = Object.freeze([d(0), d(-2), d(-1)]);
    computeStreak(days, TODAY);
    expect(days).toEqual([d(0), d(-2), d(-1)]);
  });

  it('agrees with a brute-force count on random day sets', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const days = Array.from({ length: Math.floor(random() * 25) }, () => d(-Math.floor(random() * 40)));
      const set = new Set(days);
      let longest = 0;
      for (const start of set) {
        let n = 0;
        while (set.has(start + n)) n++;
        longest = Math.max(longest, n);
      }
      let current = 0;
      const end = set.has(TODAY) ? TODAY : set.has(TODAY - 1) ? TODAY - 1 : undefined;
      if (end !== undefined) while (set.has(end - current)) current++;
      expect(computeStreak(days, TODAY)).toEqual({ currentStreak: current, longestStreak: longest });
    }
  });
});
