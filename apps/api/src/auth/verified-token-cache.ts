import type { VerifiedToken } from './token-verifier';

/** A cached verification is trusted at most this long (a rotated or withdrawn key stops working within it). */
export const VERIFIED_TOKEN_TTL_MS = 60_000;

interface Entry {
  verified: VerifiedToken;
  /** Epoch ms after which the entry is not used: the token's expiry or the TTL, the earlier. */
  usableUntilMs: number;
}

/**
 * Tokens that verified recently, so a device's next request skips the signature check and the
 * claim parsing (issue 32: about a tenth of an empty sync's CPU). Keyed by the whole token:
 * the same signature over another payload is another key, so a hit is the very token that
 * verified. Only successes are kept; an entry expires with its token (never later) and after
 * VERIFIED_TOKEN_TTL_MS; at most `capacity` entries, the least recently used go first.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly capacity: number,
    private readonly ttlMs = VERIFIED_TOKEN_TTL_MS,
  ) {}

  get(token: string, nowMs: number): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    this.entries.delete(token);
    if (nowMs >= entry.usableUntilMs) return undefined;
    this.entries.set(token, entry); // most recently used: to the end
    return entry.verified;
  }

  set(token: string, verified: VerifiedToken, nowMs: number): void {
    if (this.capacity <= 0) return;
    const usableUntilMs = Math.min(verified.expiresAtMs, nowMs + this.ttlMs);
    if (usableUntilMs <= nowMs) return;
    this.entries.delete(token);
    while (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { verified, usableUntilMs });
  }

  get size(): number {
    return this.entries.size;
  }
}
