/** Pairs two lists that are parallel by construction (a request and its batch, its page); a length mismatch is a bug. */
export function zip<A, B>(a: readonly A[], b: readonly B[]): [A, B][] {
  if (a.length !== b.length) throw new Error(`zip: ${a.length} items against ${b.length}`);
  return a.map((item, i) => [item, b[i] as B]);
}
