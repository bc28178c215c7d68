import { wilsonLowerBound } from './wilson';

describe('wilsonLowerBound (PROTOCOL 2.12)', () => {
  it.each([
    [20, 20, 0.8389],
    [19, 19, 0.8318],
    [12, 20, 0.3866],
    [0, 20, 0],
    [0, 0, 0],
  ])('%i of %i: %f', (successes, n, expected) => {
    expect(wilsonLowerBound(successes, n)).toBeCloseTo(expected, 3);
  });
});
