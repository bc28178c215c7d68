/** A per-connection token bucket: `tokens` left at `atMs` (fractions accrue between messages). */
export interface MessageBucket {
  readonly tokens: number;
  readonly atMs: number;
}

/** A new connection may send a burst of up to `perSecond` messages at once. */
export const fullBucket = (perSecond: number, nowMs: number): MessageBucket => ({ tokens: perSecond, atMs: nowMs });

/**
 * One message arriving at `nowMs`: the bucket refills at `perSecond` tokens a second up to
 * `perSecond` and each message takes one. Returns the bucket after it, or `undefined` when the
 * message is over the rate (a burst of more than `perSecond`, or more than `perSecond` a second
 * kept up). A clock that went back refills nothing.
 */
export function takeMessage(bucket: MessageBucket, nowMs: number, perSecond: number): MessageBucket | undefined {
  const refilled = Math.min(perSecond, bucket.tokens + (Math.max(0, nowMs - bucket.atMs) * perSecond) / 1000);
  if (refilled < 1) return undefined;
  return { tokens: refilled - 1, atMs: Math.max(nowMs, bucket.atMs) };
}
