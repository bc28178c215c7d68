import { resolve } from 'node:path';
import { AppConfig } from './app-config';
import { loadConfig, parseDuration, parseSize } from './load-config';
import { EC_PEM, JWKS_URI, problemsOf, RSA_PEM, SECRET } from './load-config.fixtures';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    expect(loadConfig({})).toEqual<AppConfig>({
      env: 'development',
      logLevel: 'info',
      dataDir: resolve('.data'),
      http: {
        host: '127.0.0.1',
        port: 3000,
        metricsPort: undefined,
        docs: true,
        bodyLimitBytes: 5 * 1024 * 1024,
        corsOrigins: [],
        shutdownDrainMs: 30_000,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 60_000,
        keepAliveTimeoutMs: 5_000,
      },
      database: {
        url: undefined,
        embeddedPort: 54329,
        poolSize: 10,
        statementTimeoutMs: 30_000,
        preparedStatements: true,
        migrationsRun: true,
      },
      auth: {
        secret: undefined,
        publicKey: undefined,
        jwksUri: undefined,
        issuer: undefined,
        audience: undefined,
        jwksCooldownMs: 30_000,
        cacheSize: 10_000,
      },
      sync: {
        maxBatch: 500,
        maxClockSkewMs: 5 * 60_000,
        maxPageBytes: 4 * 1024 * 1024,
        maxRejectedBytes: 16 * 1024,
        typePriorities: {},
        tombstoneDays: 90,
        receiptDays: 30,
        replayDays: 7,
        conflictDays: 30,
        rateLimitPerMinute: 600,
        rateLimitWindowMs: 60_000,
        maxStreamsPerUser: 20,
        wsHeartbeatMs: 30_000,
        wsMaxPending: 20,
        wsMaxMessagesPerSecond: 20,
      },
    });
  });

  it('reads every variable it is given', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '8080',
      LOG_LEVEL: 'warn',
      SHUTDOWN_DRAIN_MS: '10000',
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '20000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
      JWT_JWKS_COOLDOWN_MS: '1000',
      JWT_CACHE_SIZE: '0',
      DATABASE_URL: 'postgresql://app:pw@db.internal:5433/sync',
      DATA_DIR: '/var/lib/delta-sync',
      EMBEDDED_PG_PORT: '6000',
      DB_POOL_SIZE: '25',
      DB_STATEMENT_TIMEOUT_MS: '0',
      DB_MIGRATIONS_RUN: 'off',
      JWT_SECRET: SECRET,
      JWT_ISSUER: 'https://id.example.com/',
      JWT_AUDIENCE: 'delta-sync',
      SYNC_MAX_BATCH: '100',
      SYNC_MAX_BODY: '512kb',
      SYNC_MAX_CLOCK_SKEW: '90s',
      SYNC_MAX_PAGE_BYTES: '1mb',
      SYNC_MAX_REJECTED_BYTES: '8kb',
      SYNC_TYPE_PRIORITIES: 'points_ledger=1, badge = 2',
      SYNC_TOMBSTONE_DAYS: '7',
      SYNC_RECEIPT_DAYS: '3',
      SYNC_REPLAY_DAYS: '0',
      SYNC_CONFLICT_DAYS: '14',
      SYNC_RATE_LIMIT: '0',
      DB_PREPARED_STATEMENTS: 'false',
      DATABASE_LISTEN_URL: 'postgresql://app:pw@db-direct.internal:5432/sync',
      SYNC_MAX_STREAMS_PER_USER: '5',
      SYNC_WS_MAX_PENDING: '50',
      SYNC_WS_MAX_MESSAGES_PER_SECOND: '0',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173,',
    });
    expect(config).toEqual<AppConfig>({
      env: 'production',
      logLevel: 'warn',
      dataDir: '/var/lib/delta-sync',
      http: {
        host: '127.0.0.1',
        port: 8080,
        metricsPort: undefined,
        docs: false,
        bodyLimitBytes: 512 * 1024,
        corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
        shutdownDrainMs: 10_000,
        headersTimeoutMs: 2_000,
        requestTimeoutMs: 20_000,
        keepAliveTimeoutMs: 65_000,
      },
      database: {
        url: 'postgresql://app:pw@db.internal:5433/sync',
        listenUrl: 'postgresql://app:pw@db-direct.internal:5432/sync',
        embeddedPort: 6000,
        poolSize: 25,
        statementTimeoutMs: 0,
        preparedStatements: false,
        migrationsRun: false,
      },
      auth: {
        secret: SECRET,
        publicKey: undefined,
        jwksUri: undefined,
        issuer: 'https://id.example.com/',
        audience: 'delta-sync',
        jwksCooldownMs: 1_000,
        cacheSize: 0,
      },
      sync: {
        maxBatch: 100,
        maxClockSkewMs: 90_000,
        maxPageBytes: 1024 * 1024,
        maxRejectedBytes: 8 * 1024,
        typePriorities: { points_ledger: 1, badge: 2 },
        tombstoneDays: 7,
        receiptDays: 3,
        replayDays: 0,
        conflictDays: 14,
        rateLimitPerMinute: 0,
        rateLimitWindowMs: 60_000,
        maxStreamsPerUser: 5,
        wsHeartbeatMs: 30_000,
        wsMaxPending: 50,
        wsMaxMessagesPerSecond: 0,
      },
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['YES', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads DB_MIGRATIONS_RUN=%s as %s', (value, expected) => {
    expect(loadConfig({ DB_MIGRATIONS_RUN: value }).database.migrationsRun).toBe(expected);
  });

  it.each([
    ['a blank JWT_SECRET', { JWT_SECRET: '' }],
    ['a blank DATABASE_URL', { DATABASE_URL: '  ' }],
    ['a blank JWT_JWKS_URI', { JWT_JWKS_URI: '' }],
  ])('treats %s as unset', (_, env) => {
    const config = loadConfig(env);
    expect(config.auth.secret).toBeUndefined();
    expect(config.auth.jwksUri).toBeUndefined();
    expect(config.database.url).toBeUndefined();
  });

  describe('key sources', () => {
    it.each([
      ['JWT_SECRET', { NODE_ENV: 'production', JWT_SECRET: SECRET }],
      ['an RSA JWT_PUBLIC_KEY', { NODE_ENV: 'production', JWT_PUBLIC_KEY: RSA_PEM }],
      ['an EC P-256 JWT_PUBLIC_KEY', { NODE_ENV: 'production', JWT_PUBLIC_KEY: EC_PEM }],
      [
        'JWT_JWKS_URI',
        { NODE_ENV: 'production', JWT_JWKS_URI: JWKS_URI, JWT_ISSUER: 'https://id.example.com/', JWT_AUDIENCE: 'delta-sync' },
      ],
    ])('accepts %s alone in production', (_, env) => {
      expect(problemsOf(env)).toEqual([]);
    });

    it.each<[string, NodeJS.ProcessEnv, string]>([
      ['neither', {}, 'JWT_ISSUER and JWT_AUDIENCE required with JWT_JWKS_URI when NODE_ENV=production'],
      ['no JWT_AUDIENCE', { JWT_ISSUER: 'https://id.example.com/' }, 'JWT_AUDIENCE required with JWT_JWKS_URI when NODE_ENV=production'],
      ['no JWT_ISSUER', { JWT_AUDIENCE: 'delta-sync' }, 'JWT_ISSUER required with JWT_JWKS_URI when NODE_ENV=production'],
    ])('refuses JWT_JWKS_URI in production with %s of JWT_ISSUER and JWT_AUDIENCE', (_, env, problem) => {
      expect(problemsOf({ NODE_ENV: 'production', JWT_JWKS_URI: JWKS_URI, ...env })).toEqual([problem]);
    });

    it('accepts JWT_JWKS_URI without JWT_ISSUER and JWT_AUDIENCE outside production', () => {
      expect(problemsOf({ NODE_ENV: 'development', JWT_JWKS_URI: JWKS_URI })).toEqual([]);
    });
  });

  describe('listen address', () => {
    it.each<[string, NodeJS.ProcessEnv, string]>([
      ['development by default: loopback only', {}, '127.0.0.1'],
      ['development', { NODE_ENV: 'development' }, '127.0.0.1'],
      ['test', { NODE_ENV: 'test' }, '127.0.0.1'],
      ['production: every interface', { NODE_ENV: 'production', JWT_SECRET: SECRET }, '0.0.0.0'],
      ['development with HOST', { NODE_ENV: 'development', HOST: '0.0.0.0' }, '0.0.0.0'],
      ['production with HOST', { NODE_ENV: 'production', JWT_SECRET: SECRET, HOST: '10.0.0.5' }, '10.0.0.5'],
      ['a blank HOST (an env file line left empty)', { HOST: ' ' }, '127.0.0.1'],
    ])('%s', (_, env, host) => {
      expect(loadConfig(env).http.host).toBe(host);
    });
  });

  describe('HTTP server timeouts', () => {
    it.each<[string, NodeJS.ProcessEnv, string]>([
      ['a headers timeout of 0', { HTTP_HEADERS_TIMEOUT_MS: '0' }, 'HTTP_HEADERS_TIMEOUT_MS must not be less than 1'],
      ['a request timeout that is not a number', { HTTP_REQUEST_TIMEOUT_MS: '1m' }, 'HTTP_REQUEST_TIMEOUT_MS must be an integer number'],
      ['a blank keep-alive timeout', { HTTP_KEEP_ALIVE_TIMEOUT_MS: '' }, 'HTTP_KEEP_ALIVE_TIMEOUT_MS must be an integer number'],
      [
        'a headers timeout longer than the request timeout',
        { HTTP_HEADERS_TIMEOUT_MS: '30000', HTTP_REQUEST_TIMEOUT_MS: '20000' },
        'HTTP_HEADERS_TIMEOUT_MS must not be larger than HTTP_REQUEST_TIMEOUT_MS',
      ],
    ])('refuses %s', (_, env, problem) => {
      expect(problemsOf(env)).toContain(problem);
    });

    it('accepts a PEM whose newlines arrive as literal \\n escapes (one-line env files)', () => {
      const escaped = RSA_PEM.trim().split('\n').join('\\n');
      expect(escaped).not.toContain('\n');
      expect(loadConfig({ JWT_PUBLIC_KEY: escaped }).auth.publicKey).toBe(RSA_PEM.trim());
    });

    it('keeps a PEM with real newlines as it is', () => {
      expect(loadConfig({ JWT_PUBLIC_KEY: EC_PEM }).auth.publicKey).toBe(EC_PEM);
    });
  });
});

describe('parseSize', () => {
  it.each<[string, number]>([
    ['0', 0],
    ['1024', 1024],
    ['10b', 10],
    ['512kb', 512 * 1024],
    ['5mb', 5 * 1024 ** 2],
    ['5MB', 5 * 1024 ** 2],
    [' 2 gb ', 2 * 1024 ** 3],
  ])('%s is %d bytes', (value, bytes) => {
    expect(parseSize(value)).toBe(bytes);
  });

  it.each(['lots', '', '1.5mb', '-1', '5tb', 'mb'])('rejects %p', (value) => {
    expect(() => parseSize(value)).toThrow(`not a size: ${value}`);
  });
});

describe('parseDuration', () => {
  it.each<[string, number]>([
    ['300', 300_000],
    ['1500ms', 1500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [' 5 M ', 300_000],
  ])('%s is %d ms', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });

  it.each(['soon', '', '1.5s', '-5m', '5w', 'ms'])('rejects %p', (value) => {
    expect(() => parseDuration(value)).toThrow(`not a duration: ${value}`);
  });
});
