import { RetryPolicy } from './backoff.js';
import { LogLevel, SyncLogger } from './client-log.js';
import { TokenProvider } from './delta-sender.js';
import { FetchLike, WebSocketConstructor } from './platform.js';
import { SyncStorage } from './storage.js';
import { EntityData } from './types.js';

export interface SyncClientOptions {
  /** The service's origin, e.g. `https://sync.example.com`. */
  baseUrl: string;
  /** Called before each request, and once more after a 401 (`afterUnauthorized: true`). */
  getToken: TokenProvider;
  deviceId: string;
  /** Default: a new MemoryStorage. */
  storage?: SyncStorage;
  /** Default: globalThis.fetch. */
  fetch?: FetchLike;
  /** For live(true); default globalThis.WebSocket (Node 20 has none: pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  retry?: Partial<RetryPolicy>;
  /** Changes per request (the server's SYNC_MAX_BATCH); default 500, lowered to what a 400 `batch_too_large` names. */
  maxBatch?: number;
  /** Bytes of changes per request (below the server's SYNC_MAX_BODY); default 4 MiB, halved after a 413. */
  maxBodyBytes?: number;
  /** `limit` of each pull page; default: the server's (1000). */
  pageLimit?: number;
  /**
   * Sync lanes (PROTOCOL 2.9), default true: a device far behind pulls tasks and events
   * first, and its outbox goes lane by lane (each entity's changes in order). false: commit order.
   */
  lanes?: boolean;
  /** Field-level pulls (PROTOCOL 2.10), default true: an entity the replica holds may come as a patch (only the fields written since), merged in the page's atomic write. */
  patches?: boolean;
  /** The lane of each entity type, for the outbox order; default PROTOCOL 2.9's (an unlisted type: 1). */
  typeLanes?: Record<string, 0 | 1 | 2>;
  /** Default 30 s; a request that takes longer counts as a network failure. */
  requestTimeoutMs?: number;
  /** Bodies above this many bytes are gzip-compressed where CompressionStream exists; default 8 KB. */
  gzipThreshold?: number;
  /** The fields the server adds on create, per type (default: PROTOCOL 2.2). */
  createDefaults?: Record<string, EntityData>;
  /** Types whose update/delete carry a version; default ['task']. */
  versionedTypes?: readonly string[];
  /** WebSocket ping interval of live mode; default 25 s. */
  livePingMs?: number;
  /** Coordinate with other tabs on a shared storage (IndexedDbStorage); default true where BroadcastChannel exists. */
  tabs?: boolean;
  /** Where warnings and errors go (a throwing listener, a refused change, a failed round); default the console, null: nowhere. */
  logger?: SyncLogger | null;
  /** The lowest level logged; default 'warn'. */
  logLevel?: LogLevel;
  /** The jitter's random source (tests). */
  random?: () => number;
}
