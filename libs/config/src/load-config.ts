import { createPublicKey } from 'node:crypto';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AppConfig } from './app-config';
import { DURATION_PATTERN, EnvironmentVariables, SIZE_PATTERN } from './environment-variables';

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseSize(value: string): number {
  const m = SIZE_PATTERN.exec(value);
  if (!m) throw new Error(`not a size: ${value}`);
  return Number(m[1]) * (SIZE_UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1);
}

/** A bare number is seconds. */
export function parseDuration(value: string): number {
  const m = DURATION_PATTERN.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  return Number(m[1]) * (DURATION_UNITS[(m[2] ?? 's').toLowerCase()] ?? 1000);
}

/** PEM keys often arrive through env files with escaped newlines. */
function normalisePem(pem: string | undefined): string | undefined {
  return pem?.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
}

/**
 * `CORS_ORIGINS`: comma-separated exact origins, as browsers send them in `Origin`
 * (`https://app.example.com`, `http://localhost:5173`). Blank entries are skipped; anything
 * else that is not exactly an origin (a path, a trailing slash, `*`, an upper-case host)
 * would never match and is reported by name.
 */
export function parseCorsOrigins(value: string): { origins: string[]; problems: string[] } {
  const origins: string[] = [];
  const problems: string[] = [];
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (origin === entry) origins.push(entry);
    else
      problems.push(
        `CORS_ORIGINS: "${entry}" is not an origin (scheme://host[:port], e.g. https://app.example.com${origin ? `; did you mean ${origin}?` : ''})`,
      );
  }
  return { origins: [...new Set(origins)], problems };
}

/**
 * Validates the environment once and returns the typed configuration. Every problem is
 * collected and reported with the name of its variable, so a bad deployment fails at
 * start with one readable message instead of at the first request.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const vars = plainToInstance(EnvironmentVariables, { ...env }, { exposeDefaultValues: true });
  const problems = validateSync(vars, { forbidUnknownValues: false }).flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(error.property) ? message : `${error.property}: ${message}`,
    ),
  );

  if (vars.DATABASE_URL && !problems.some((p) => p.startsWith('DATABASE_URL'))) {
    try {
      const url = new URL(vars.DATABASE_URL);
      if (!url.hostname) problems.push('DATABASE_URL has no host name');
    } catch {
      problems.push('DATABASE_URL is not a valid URL');
    }
  }

  if (vars.DATABASE_LISTEN_URL && !problems.some((p) => p.startsWith('DATABASE_LISTEN_URL'))) {
    if (!URL.canParse(vars.DATABASE_LISTEN_URL) || !new URL(vars.DATABASE_LISTEN_URL).hostname) {
      problems.push('DATABASE_LISTEN_URL is not a valid URL with a host name');
    }
  }
  const cors = parseCorsOrigins(vars.CORS_ORIGINS ?? '');
  problems.push(...cors.problems);
  const publicKey = normalisePem(vars.JWT_PUBLIC_KEY);
  if (publicKey) {
    try {
      const key = createPublicKey(publicKey);
      const type = key.asymmetricKeyType;
      if (type !== 'rsa' && type !== 'ec') problems.push(`JWT_PUBLIC_KEY must be an RSA or EC key, got ${type}`);
      // Only ES256 is accepted for EC keys, and ES256 needs P-256: any other curve would start
      // a service that rejects every token.
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (type === 'ec' && curve !== 'prime256v1') problems.push(`JWT_PUBLIC_KEY must be an EC key on P-256 (ES256), got ${curve}`);
    } catch {
      problems.push('JWT_PUBLIC_KEY is not a PEM public key');
    }
  }
  const keySources = [vars.JWT_SECRET && 'JWT_SECRET', publicKey && 'JWT_PUBLIC_KEY', vars.JWT_JWKS_URI && 'JWT_JWKS_URI'].filter(Boolean);
  if (keySources.length > 1) {
    problems.push(`only one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URI may be set (got ${keySources.join(', ')})`);
  }
  if (vars.NODE_ENV === 'production' && keySources.length === 0) {
    problems.push('JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URI is required when NODE_ENV=production');
  }

  // Below a kilobyte every page would be one entity: a typo (`4` for `4mb`), not a choice.
  for (const name of ['SYNC_MAX_PAGE_BYTES', 'SYNC_MAX_REJECTED_BYTES'] as const) {
    if (SIZE_PATTERN.test(vars[name]) && parseSize(vars[name]) < 1024) problems.push(`${name} must be at least 1kb (got ${vars[name]})`);
  }
  if (vars.NODE_ENV === 'production' && vars.JWT_JWKS_URI) {
    // A key set usually serves many applications: without iss and aud, a token the identity
    // provider issued for any of them would be accepted here.
    const missing = [!vars.JWT_ISSUER && 'JWT_ISSUER', !vars.JWT_AUDIENCE && 'JWT_AUDIENCE'].filter(Boolean);
    if (missing.length > 0) problems.push(`${missing.join(' and ')} required with JWT_JWKS_URI when NODE_ENV=production`);
  }
  const typePriorities = parseTypePriorities(vars.SYNC_TYPE_PRIORITIES, problems);
  if (vars.HTTP_HEADERS_TIMEOUT_MS > vars.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not be larger than HTTP_REQUEST_TIMEOUT_MS');
  }

  if (problems.length > 0) throw new ConfigValidationError([...new Set(problems)]);

  return {
    env: vars.NODE_ENV,
    logLevel: vars.LOG_LEVEL,
    dataDir: resolve(vars.DATA_DIR),
    http: {
      host: vars.HOST ?? (vars.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
      port: vars.PORT,
      metricsPort: vars.METRICS_PORT,
      docs: vars.API_DOCS ?? vars.NODE_ENV !== 'production',
      bodyLimitBytes: parseSize(vars.SYNC_MAX_BODY),
      corsOrigins: cors.origins,
      shutdownDrainMs: vars.SHUTDOWN_DRAIN_MS,
      headersTimeoutMs: vars.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: vars.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: vars.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    database: {
      url: vars.DATABASE_URL,
      listenUrl: vars.DATABASE_LISTEN_URL,
      embeddedPort: vars.EMBEDDED_PG_PORT,
      poolSize: vars.DB_POOL_SIZE,
      statementTimeoutMs: vars.DB_STATEMENT_TIMEOUT_MS,
      preparedStatements: vars.DB_PREPARED_STATEMENTS,
      migrationsRun: vars.DB_MIGRATIONS_RUN,
    },
    auth: {
      secret: vars.JWT_SECRET,
      publicKey,
      jwksUri: vars.JWT_JWKS_URI,
      issuer: vars.JWT_ISSUER,
      audience: vars.JWT_AUDIENCE,
      jwksCooldownMs: vars.JWT_JWKS_COOLDOWN_MS,
      cacheSize: vars.JWT_CACHE_SIZE,
    },
    sync: {
      maxBatch: vars.SYNC_MAX_BATCH,
      maxClockSkewMs: parseDuration(vars.SYNC_MAX_CLOCK_SKEW),
      maxPageBytes: parseSize(vars.SYNC_MAX_PAGE_BYTES),
      maxRejectedBytes: parseSize(vars.SYNC_MAX_REJECTED_BYTES),
      typePriorities,
      tombstoneDays: vars.SYNC_TOMBSTONE_DAYS,
      receiptDays: vars.SYNC_RECEIPT_DAYS,
      replayDays: vars.SYNC_REPLAY_DAYS,
      conflictDays: vars.SYNC_CONFLICT_DAYS,
      rateLimitPerMinute: vars.SYNC_RATE_LIMIT,
      rateLimitWindowMs: parseDuration(vars.SYNC_RATE_LIMIT_WINDOW),
      rateLimitRedisUrl: vars.RATE_LIMIT_REDIS_URL,
      maxStreamsPerUser: vars.SYNC_MAX_STREAMS_PER_USER,
      wsHeartbeatMs: vars.SYNC_WS_HEARTBEAT_MS,
      wsMaxPending: vars.SYNC_WS_MAX_PENDING,
      wsMaxMessagesPerSecond: vars.SYNC_WS_MAX_MESSAGES_PER_SECOND,
    },
  };
}

/**
 * SYNC_TYPE_PRIORITIES (`task=0,points_ledger=2`): a lane (0, 1 or 2) per entity type
 * (PROTOCOL 2.9). The syntax and the lanes are checked here; whether each type exists, when
 * the entity types are registered.
 */
function parseTypePriorities(value: string | undefined, problems: string[]): Record<string, number> {
  const lanes: Record<string, number> = {};
  for (const part of (value ?? '').split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const m = /^([a-z_][a-z0-9_]*)\s*=\s*(\S+)$/.exec(part);
    if (!m) {
      problems.push(`SYNC_TYPE_PRIORITIES: "${part}" is not type=lane`);
      continue;
    }
    const [, type = '', lane = ''] = m;
    if (!/^[012]$/.test(lane)) problems.push(`SYNC_TYPE_PRIORITIES: lane of ${type} must be 0, 1 or 2 (got ${lane})`);
    else if (type in lanes) problems.push(`SYNC_TYPE_PRIORITIES: ${type} is listed twice`);
    else lanes[type] = Number(lane);
  }
  return lanes;
}
