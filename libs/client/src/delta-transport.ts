import { canGzip, FetchLike, gzip, platform, utf8 } from './platform.js';
import { DeltaRequest, DeltaResponse } from './types.js';
import { parseRetryAfter } from './backoff.js';

/** Bodies above this many bytes go gzip-compressed where the platform has CompressionStream. */
export const GZIP_THRESHOLD = 8 * 1024;

/** A request body encoded once: a retry sends exactly these bytes again. */
export interface EncodedBody {
  body: string | Uint8Array;
  headers: Record<string, string>;
}

export async function encodeBody(req: DeltaRequest, threshold = GZIP_THRESHOLD): Promise<EncodedBody> {
  const json = JSON.stringify(req);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (json.length * 3 <= threshold || !canGzip()) return { body: json, headers };
  const bytes = utf8(json);
  if (bytes.length <= threshold) return { body: json, headers };
  return { body: await gzip(bytes), headers: { ...headers, 'Content-Encoding': 'gzip' } };
}

export class SyncHttpError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
    /** The answer's `details` (e.g. `{max}` of a 400 `batch_too_large`). */
    readonly details?: Record<string, unknown>,
    /** The answer's Retry-After, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SyncHttpError';
  }
}

export type DeltaOutcome =
  | { kind: 'ok'; body: DeltaResponse }
  /** Network failure, timeout or 5xx: nothing was applied, or it was and a resend gets the same outcome. */
  | { kind: 'transient'; error: SyncHttpError; retryAfterMs?: number }
  | { kind: 'rate_limited'; error: SyncHttpError; retryAfterMs?: number }
  | { kind: 'unauthorized'; error: SyncHttpError }
  /** Any other 4xx: resending the same request cannot help. */
  | { kind: 'refused'; error: SyncHttpError };

interface AbortControllerLike {
  signal: unknown;
  abort(): void;
}

/** One POST /sync/delta, classified. Never throws. */
export async function postDelta(
  fetchFn: FetchLike,
  url: string,
  token: string,
  encoded: EncodedBody,
  timeoutMs: number,
): Promise<DeltaOutcome> {
  const Abort = (globalThis as unknown as { AbortController?: new () => AbortControllerLike }).AbortController;
  const controller = Abort ? new Abort() : undefined;
  const timer = controller ? platform.setTimeout(() => controller.abort(), timeoutMs) : undefined;
  try {
    const res = await fetchFn(url, {
      method: 'POST',
      headers: { ...encoded.headers, Authorization: `Bearer ${token}` },
      body: encoded.body,
      signal: controller?.signal,
    });
    const text = await res.text();
    if (res.status === 200) return { kind: 'ok', body: JSON.parse(text) as DeltaResponse };
    const parsed = safeJson(text);
    const code = typeof parsed?.error === 'string' ? parsed.error : undefined;
    const message = typeof parsed?.message === 'string' ? parsed.message : text.slice(0, 200);
    const details =
      typeof parsed?.details === 'object' && parsed.details !== null ? (parsed.details as Record<string, unknown>) : undefined;
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    const error = new SyncHttpError(
      `POST /sync/delta: HTTP ${res.status}${code ? ` ${code}` : ''}: ${message}`,
      res.status,
      code,
      details,
      retryAfterMs,
    );
    if (res.status === 429) return { kind: 'rate_limited', error, retryAfterMs };
    if (res.status === 401) return { kind: 'unauthorized', error };
    if (res.status >= 500 || res.status === 408) return { kind: 'transient', error, retryAfterMs };
    return { kind: 'refused', error };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'transient', error: new SyncHttpError(`POST /sync/delta: network error: ${message}`) };
  } finally {
    if (timer !== undefined) platform.clearTimeout(timer);
  }
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
