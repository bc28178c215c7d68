export type NodeEnv = 'development' | 'production' | 'test';

export interface HttpConfig {
  host: string;
  port: number;
  /** Set: /metrics is served on this port (a server of its own) and not on `port`. */
  metricsPort?: number;
  /** /docs and /docs-json are served (API_DOCS; default off in production). */
  docs: boolean;
  /** Largest accepted request body after decompression, in bytes. */
  bodyLimitBytes: number;
  /** Browser origins allowed by CORS (exact `scheme://host[:port]`); empty: no CORS headers. */
  corsOrigins: string[];
  /** After SIGTERM, in-flight requests get this long to finish; then the process exits (code 1). */
  shutdownDrainMs: number;
  /** A client must have sent all its request headers within this time, or the connection is closed. */
  headersTimeoutMs: number;
  /** ... and its whole request (headers and body). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  keepAliveTimeoutMs: number;
}

export interface DatabaseConfig {
  /** Absent: the service runs an embedded PostgreSQL in `dataDir`. */
  url?: string;
  /** The realtime listener's connection; absent: the same server as `url` (or the embedded one). */
  listenUrl?: string;
  embeddedPort: number;
  poolSize: number;
  statementTimeoutMs: number;
  /** Hot statements are prepared once per connection (off behind a transaction-mode pooler). */
  preparedStatements: boolean;
  migrationsRun: boolean;
}

export interface AuthConfig {
  secret?: string;
  publicKey?: string;
  jwksUri?: string;
  issuer?: string;
  audience?: string;
  /** With a key set: an unknown key id refetches it at most once per this many milliseconds. */
  jwksCooldownMs?: number;
  /** Verified tokens remembered (for a minute at most); 0 verifies every request. */
  cacheSize?: number;
}

export interface SyncConfig {
  maxBatch: number;
  maxClockSkewMs: number;
  /** A pull page's `server_changes` stays under this many bytes of JSON (PROTOCOL 2.13). */
  maxPageBytes: number;
  /** Rejected values of a server-owned type's lost change above this size are kept as a marker (PROTOCOL 2.13). */
  maxRejectedBytes: number;
  /** Lane overrides by entity type from SYNC_TYPE_PRIORITIES (PROTOCOL 2.9); the registry checks the types. */
  typePriorities: Record<string, number>;
  tombstoneDays: number;
  receiptDays: number;
  /** Push records kept this many days for replay and explain (PROTOCOL 2.11); 0: none are kept. */
  replayDays: number;
  /** Conflict inbox entries (and their tombstones) are purged after this many days. */
  conflictDays: number;
  /** Sync requests per user and minute; 0 disables the limit. */
  rateLimitPerMinute: number;
  /** The window the rate limit counts over (60 s unless configured). */
  rateLimitWindowMs: number;
  /** Shared counters for the rate limit (every instance counts together); absent: in memory, per instance. */
  rateLimitRedisUrl?: string;
  /** Open realtime streams (WebSocket + SSE) per user and instance. */
  maxStreamsPerUser: number;
  /** WebSocket pings this often; a peer that did not answer the previous one is dropped. */
  wsHeartbeatMs: number;
  /** WebSocket connections per client address waiting for their auth message; more are closed 4429. */
  wsMaxPending: number;
  /** Messages per second a WebSocket client may send (a burst of as many at once); 0: no limit. */
  wsMaxMessagesPerSecond: number;
}

export interface AppConfig {
  env: NodeEnv;
  logLevel: string;
  /** Folder for the embedded database and the development JWT secret (git-ignored). */
  dataDir: string;
  http: HttpConfig;
  database: DatabaseConfig;
  auth: AuthConfig;
  sync: SyncConfig;
}
