import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

/**
 * `Number('')` is 0: a variable left blank (`PORT=` in an env file) would silently mean port 0,
 * no rate limit or no statement timeout. Blank is therefore not a number and fails validation.
 */
const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? (value.trim() === '' ? undefined : Number(value)) : value;

const emptyToUndefined = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/** A size such as `5mb`, `512kb` or a number of bytes. */
export const SIZE_PATTERN = /^\s*(\d+)\s*(b|kb|mb|gb)?\s*$/i;
/** A duration such as `5m`, `300s`, `1500ms` or a number of seconds. */
export const DURATION_PATTERN = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/i;

/**
 * Every environment variable the service reads, with its default. `.env.example` mirrors
 * this class; `loadConfig` validates it once at start and turns it into `AppConfig`.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  /** Absent: 0.0.0.0 in production, 127.0.0.1 otherwise (a development start is not reachable from the network). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  HOST?: string;

  @Transform(toNumber)
  @IsInt({ message: 'PORT must be an integer between 0 and 65535' })
  @Min(0, { message: 'PORT must be an integer between 0 and 65535' })
  @Max(65535, { message: 'PORT must be an integer between 0 and 65535' })
  PORT = 3000;

  /** Set: /metrics is served on this port only (not on PORT), for the scraper alone to reach. */
  @Transform(toNumber)
  @IsOptional()
  @IsInt({ message: 'METRICS_PORT must be an integer between 0 and 65535' })
  @Min(0, { message: 'METRICS_PORT must be an integer between 0 and 65535' })
  @Max(65535, { message: 'METRICS_PORT must be an integer between 0 and 65535' })
  METRICS_PORT?: number;

  /** /docs and /docs-json; absent: on, except with NODE_ENV=production. */
  @Transform((arg) => toBoolean({ value: emptyToUndefined(arg) }))
  @IsOptional()
  @IsBoolean()
  API_DOCS?: boolean;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** SIGTERM: how long in-flight requests may drain before the process exits anyway. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  SHUTDOWN_DRAIN_MS = 30000;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  HTTP_HEADERS_TIMEOUT_MS = 10_000;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  HTTP_REQUEST_TIMEOUT_MS = 60_000;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/[^\s]+$/, {
    message: 'DATABASE_URL must be a postgres:// or postgresql:// connection URL',
  })
  DATABASE_URL?: string;

  /** The realtime listener's own connection (LISTEN needs a session: not through a transaction-mode pooler). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/[^\s]+$/, {
    message: 'DATABASE_LISTEN_URL must be a postgres:// or postgresql:// connection URL',
  })
  DATABASE_LISTEN_URL?: string;

  @IsString()
  DATA_DIR = '.data';

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000)
  DB_POOL_SIZE = 10;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  DB_STATEMENT_TIMEOUT_MS = 30000;

  @Transform(toBoolean)
  @IsBoolean()
  DB_PREPARED_STATEMENTS = true;

  @Transform(toBoolean)
  @IsBoolean()
  DB_MIGRATIONS_RUN = true;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters (256 bits) for HS256' })
  JWT_SECRET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_PUBLIC_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'JWT_JWKS_URI must be an http(s) URL' })
  JWT_JWKS_URI?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  /** An unknown key id refetches JWT_JWKS_URI at most once per this many milliseconds. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  JWT_JWKS_COOLDOWN_MS = 30_000;

  /** Verified tokens remembered for at most a minute each (never past their expiry); 0 verifies every request. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  JWT_CACHE_SIZE = 10_000;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(10000)
  SYNC_MAX_BATCH = 500;

  @Matches(SIZE_PATTERN, { message: 'SYNC_MAX_BODY must be a size such as 5mb, 512kb or a number of bytes' })
  SYNC_MAX_BODY = '5mb';

  @Matches(DURATION_PATTERN, {
    message: 'SYNC_MAX_CLOCK_SKEW must be a duration such as 5m, 300s, 1500ms or a number of seconds',
  })
  SYNC_MAX_CLOCK_SKEW = '5m';

  /** A pull page ends before its `server_changes` JSON would pass this (one larger entity goes alone). */
  @Matches(SIZE_PATTERN, { message: 'SYNC_MAX_PAGE_BYTES must be a size such as 4mb, 512kb or a number of bytes' })
  SYNC_MAX_PAGE_BYTES = '4mb';

  /** Sync lanes per entity type (PROTOCOL 2.9): `type=lane,...`, lanes 0 (first) to 2 (last); unlisted types keep their default. */
  @IsOptional()
  @IsString()
  SYNC_TYPE_PRIORITIES?: string;

  /** A lost change to a server-owned type keeps its rejected values only up to this size. */
  @Matches(SIZE_PATTERN, { message: 'SYNC_MAX_REJECTED_BYTES must be a size such as 16kb or a number of bytes' })
  SYNC_MAX_REJECTED_BYTES = '16kb';

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  SYNC_TOMBSTONE_DAYS = 90;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  SYNC_RECEIPT_DAYS = 30;

  /** Push records for replay and explain (PROTOCOL 2.11) are kept this many days; 0 keeps none. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  SYNC_REPLAY_DAYS = 7;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  SYNC_CONFLICT_DAYS = 30;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  SYNC_RATE_LIMIT = 600;

  /** The window SYNC_RATE_LIMIT counts over (a minute; seconds in tests that wait it out). */
  @Matches(DURATION_PATTERN, { message: 'SYNC_RATE_LIMIT_WINDOW must be a duration such as 1m, 60s or 5000ms' })
  SYNC_RATE_LIMIT_WINDOW = '1m';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/[^\s]+$/, { message: 'RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL' })
  RATE_LIMIT_REDIS_URL?: string;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  SYNC_MAX_STREAMS_PER_USER = 20;

  /** WebSocket protocol pings this often; a peer silent until the next one is dropped. */
  @Transform(toNumber)
  @IsInt()
  @Min(100)
  SYNC_WS_HEARTBEAT_MS = 30_000;

  /** WebSocket connections per client address still waiting for their auth message (4429 above). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  SYNC_WS_MAX_PENDING = 20;

  /** Messages a WebSocket client may send per second, bursts included (1008 above); 0: no limit. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  SYNC_WS_MAX_MESSAGES_PER_SECOND = 20;

  /** Comma-separated exact origins (checked by `loadConfig`); empty: no CORS headers at all. */
  @IsString()
  CORS_ORIGINS = '';
}
