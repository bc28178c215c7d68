/** WebSocket close codes of PROTOCOL 2.7 (SSE ends the stream for the same reasons). */
export enum CloseCode {
  Normal = 1000,
  GoingAway = 1001,
  ShuttingDown = 1012,
  Unauthorized = 4401,
  Forbidden = 4403,
  AuthTimeout = 4408,
  /** Too many open streams of the user, or connections of the address waiting to authenticate. */
  TooMany = 4429,
  /** PROTOCOL 2.13 (and a bad device_id): the client broke a rule of the connection, the reason names it. */
  PolicyViolation = 1008,
}

export type Transport = 'ws' | 'sse';

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `device_id` of a stream: the rule of POST /sync/delta (a string of 1..128 characters), and storable text. */
export function deviceIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length < 1 || value.length > 128) return 'device_id must be a string of 1..128 characters';
  if (value.includes('\u0000') || UNPAIRED_SURROGATE.test(value)) return 'device_id must not contain NUL or unpaired surrogate characters';
  return undefined;
}

/**
 * Positions are `last_sync_at` strings: UTC, six fraction digits, fixed width, so they
 * compare as strings. A stream never goes back to an older position.
 */
export const isNewer = (position: string, than: string | undefined): boolean => than === undefined || position > than;

/** setTimeout takes at most 2^31-1 ms (24.8 days); a longer delay would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
