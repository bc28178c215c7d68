import { backoffDelay, RetryPolicy } from './backoff.js';
import { encodeBody, postDelta, SyncHttpError } from './delta-transport.js';
import { FetchLike } from './platform.js';
import { DeltaRequest, DeltaResponse } from './types.js';

/** Called before every request; `afterUnauthorized` is true for the one extra call after a 401. */
export type TokenProvider = (ctx: { afterUnauthorized: boolean }) => string | Promise<string>;

export interface DeltaSenderOptions {
  url: string;
  fetch: FetchLike;
  getToken: TokenProvider;
  retry: RetryPolicy;
  timeoutMs: number;
  gzipThreshold: number;
  random: () => number;
  /** Sleeps (and throws when the client stops meanwhile); `asked`: the server's Retry-After, not a backoff. */
  wait: (ms: number, asked: boolean) => Promise<void>;
  /** Told before each wait, for the `status` event. */
  onWait: (ms: number, cause: SyncHttpError) => void;
}

/**
 * Sends one request until it gets an answer it can use. The body is encoded once, so every
 * retry sends the same bytes with the same change_ids: the server answers a change it has
 * already applied with its original outcome (PROTOCOL 2.4), never applies it twice.
 * - network failure, timeout, 5xx: backoff with jitter (or the server's Retry-After, e.g. a
 *   503 while its database is down), at most `retry.maxAttempts` attempts;
 * - 429: waits for Retry-After (counted as an attempt as well);
 * - 401: asks getToken once more and resends; a second 401 fails;
 * - other 4xx: fails at once (resending cannot help).
 */
export async function sendDelta(opts: DeltaSenderOptions, req: DeltaRequest): Promise<DeltaResponse> {
  const encoded = await encodeBody(req, opts.gzipThreshold);
  let attempt = 0;
  let afterUnauthorized = false;
  for (;;) {
    const token = await opts.getToken({ afterUnauthorized });
    const outcome = await postDelta(opts.fetch, opts.url, token, encoded, opts.timeoutMs);
    switch (outcome.kind) {
      case 'ok':
        return outcome.body;
      case 'unauthorized':
        if (afterUnauthorized) throw outcome.error;
        afterUnauthorized = true;
        continue;
      case 'refused':
        throw outcome.error;
      case 'rate_limited':
      case 'transient': {
        attempt += 1;
        if (attempt >= opts.retry.maxAttempts) throw outcome.error;
        const ms = outcome.retryAfterMs ?? backoffDelay(attempt, opts.retry, opts.random);
        opts.onWait(ms, outcome.error);
        await opts.wait(ms, outcome.retryAfterMs !== undefined);
        afterUnauthorized = false;
      }
    }
  }
}
