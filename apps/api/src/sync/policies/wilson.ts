/**
 * The lower bound of the Wilson score interval (95%: z = 1.96) for `successes` of `n`: how
 * large the true share is at least, given so few decisions (PROTOCOL 2.12). Pure.
 */
export function wilsonLowerBound(successes: number, n: number, z = 1.96): number {
  if (n <= 0) return 0;
  const p = successes / n;
  const z2 = z * z;
  return (p + z2 / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}
