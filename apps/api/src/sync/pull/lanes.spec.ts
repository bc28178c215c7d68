import { microsToIso } from '@app/sync-contract';
import { LaneEdge, laneStand } from './lanes';

const done: LaneEdge = { lastUs: null, nextUs: null };
const P = 1_000_000;

describe('laneStand (PROTOCOL 2.9)', () => {
  it.each<[string, [LaneEdge, LaneEdge, LaneEdge], number, Record<string, number>, Record<string, number>]>([
    ['every lane delivered: the family position, no cursor', [{ lastUs: 10, nextUs: null }, done, done], P, {}, {}],
    [
      'lane 2 cut after 50: the watermark is 50, lanes 0 and 1 are at the position',
      [done, done, { lastUs: 50, nextUs: 51 }],
      50,
      { 0: P, 1: P },
      { 2: 50 },
    ],
    [
      'lane 2 not on the page: just below its first change',
      [{ lastUs: 70, nextUs: null }, done, { lastUs: null, nextUs: 40 }],
      39,
      { 0: P, 1: P },
      { 2: 39 },
    ],
    [
      'two lanes cut: the lower is the watermark, the higher a cursor',
      [{ lastUs: 90, nextUs: 95 }, done, { lastUs: 30, nextUs: 31 }],
      30,
      { 0: 90, 1: P },
      { 0: 90, 2: 30 },
    ],
  ])('%s', (_, [e0, e1, e2], watermarkUs, cursors, behind) => {
    const stand = laneStand({ 0: e0, 1: e1, 2: e2 }, P);
    expect(stand.watermarkUs).toBe(watermarkUs);
    expect(stand.cursors).toEqual(Object.fromEntries(Object.entries(cursors).map(([lane, us]) => [lane, microsToIso(us)])));
    expect(stand.behind).toEqual(behind);
  });
});
