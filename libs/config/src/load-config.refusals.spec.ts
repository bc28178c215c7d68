import { EC_PEM, pemOf, problemsOf, RSA_PEM, SECRET } from './load-config.fixtures';
import { ConfigValidationError, loadConfig } from './load-config';

/** loadConfig refuses a bad environment with one message per problem, each naming its variable. */
describe('loadConfig', () => {
  describe('stops with a message naming the variable', () => {
    it.each<[string, NodeJS.ProcessEnv, string | string[]]>([
      ['PORT=abc', { PORT: 'abc' }, 'PORT must be an integer between 0 and 65535'],
      ['PORT=70000', { PORT: '70000' }, 'PORT must be an integer between 0 and 65535'],
      ['PORT=-1', { PORT: '-1' }, 'PORT must be an integer between 0 and 65535'],
      ['PORT=80.5', { PORT: '80.5' }, 'PORT must be an integer between 0 and 65535'],
      // Number('') is 0: a blank PORT must not mean "any free port".
      ['PORT= (blank)', { PORT: '' }, 'PORT must be an integer between 0 and 65535'],
      [
        'SYNC_RATE_LIMIT= (blank)',
        { SYNC_RATE_LIMIT: ' ' },
        ['SYNC_RATE_LIMIT must not be less than 0', 'SYNC_RATE_LIMIT must be an integer number'],
      ],
      ['SYNC_TYPE_PRIORITIES=task=3', { SYNC_TYPE_PRIORITIES: 'task=3' }, 'SYNC_TYPE_PRIORITIES: lane of task must be 0, 1 or 2 (got 3)'],
      ['SYNC_TYPE_PRIORITIES=task', { SYNC_TYPE_PRIORITIES: 'task' }, 'SYNC_TYPE_PRIORITIES: "task" is not type=lane'],
      ['SYNC_TYPE_PRIORITIES twice', { SYNC_TYPE_PRIORITIES: 'task=0,task=1' }, 'SYNC_TYPE_PRIORITIES: task is listed twice'],
      ['NODE_ENV=staging', { NODE_ENV: 'staging' }, 'NODE_ENV must be one of the following values: development, production, test'],
      [
        'LOG_LEVEL=loud',
        { LOG_LEVEL: 'loud' },
        'LOG_LEVEL must be one of the following values: fatal, error, warn, info, debug, trace, silent',
      ],
      ['DATABASE_URL=mysql://x', { DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must be a postgres:// or postgresql:// connection URL'],
      ['DATABASE_URL=postgres://', { DATABASE_URL: 'postgres://' }, 'DATABASE_URL must be a postgres:// or postgresql:// connection URL'],
      ['DATABASE_URL without a host', { DATABASE_URL: 'postgres://:5432/db' }, 'DATABASE_URL is not a valid URL'],
      [
        'DATABASE_LISTEN_URL=redis://x',
        { DATABASE_LISTEN_URL: 'redis://x' },
        'DATABASE_LISTEN_URL must be a postgres:// or postgresql:// connection URL',
      ],
      ['SYNC_MAX_STREAMS_PER_USER=0', { SYNC_MAX_STREAMS_PER_USER: '0' }, 'SYNC_MAX_STREAMS_PER_USER must not be less than 1'],
      ['SYNC_CONFLICT_DAYS=0', { SYNC_CONFLICT_DAYS: '0' }, 'SYNC_CONFLICT_DAYS must not be less than 1'],
      ['SYNC_WS_MAX_PENDING=0', { SYNC_WS_MAX_PENDING: '0' }, 'SYNC_WS_MAX_PENDING must not be less than 1'],
      ['SYNC_WS_MAX_PENDING=2.5', { SYNC_WS_MAX_PENDING: '2.5' }, 'SYNC_WS_MAX_PENDING must be an integer number'],
      [
        'SYNC_WS_MAX_MESSAGES_PER_SECOND=-1',
        { SYNC_WS_MAX_MESSAGES_PER_SECOND: '-1' },
        'SYNC_WS_MAX_MESSAGES_PER_SECOND must not be less than 0',
      ],
      [
        'CORS_ORIGINS with a trailing slash',
        { CORS_ORIGINS: 'https://ok.example.com,https://app.example.com/' },
        'CORS_ORIGINS: "https://app.example.com/" is not an origin (scheme://host[:port], e.g. https://app.example.com; did you mean https://app.example.com?)',
      ],
      ['CORS_ORIGINS=*', { CORS_ORIGINS: '*' }, 'CORS_ORIGINS: "*" is not an origin (scheme://host[:port], e.g. https://app.example.com)'],
      [
        'CORS_ORIGINS without a scheme',
        { CORS_ORIGINS: 'app.example.com' },
        'CORS_ORIGINS: "app.example.com" is not an origin (scheme://host[:port], e.g. https://app.example.com)',
      ],
      [
        'CORS_ORIGINS with a path',
        { CORS_ORIGINS: 'https://app.example.com/app' },
        'CORS_ORIGINS: "https://app.example.com/app" is not an origin (scheme://host[:port], e.g. https://app.example.com; did you mean https://app.example.com?)',
      ],
      ['EMBEDDED_PG_PORT=0', { EMBEDDED_PG_PORT: '0' }, 'EMBEDDED_PG_PORT must not be less than 1'],
      ['DB_POOL_SIZE=5000', { DB_POOL_SIZE: '5000' }, 'DB_POOL_SIZE must not be greater than 1000'],
      ['DB_MIGRATIONS_RUN=maybe', { DB_MIGRATIONS_RUN: 'maybe' }, 'DB_MIGRATIONS_RUN must be a boolean value'],
      ['SYNC_MAX_BATCH=0', { SYNC_MAX_BATCH: '0' }, 'SYNC_MAX_BATCH must not be less than 1'],
      ['SYNC_MAX_BODY=lots', { SYNC_MAX_BODY: 'lots' }, 'SYNC_MAX_BODY must be a size such as 5mb, 512kb or a number of bytes'],
      ['SYNC_MAX_BODY=5tb', { SYNC_MAX_BODY: '5tb' }, 'SYNC_MAX_BODY must be a size such as 5mb, 512kb or a number of bytes'],
      [
        'SYNC_MAX_CLOCK_SKEW=soon',
        { SYNC_MAX_CLOCK_SKEW: 'soon' },
        'SYNC_MAX_CLOCK_SKEW must be a duration such as 5m, 300s, 1500ms or a number of seconds',
      ],
      ['SYNC_MAX_PAGE_BYTES=4', { SYNC_MAX_PAGE_BYTES: '4' }, 'SYNC_MAX_PAGE_BYTES must be at least 1kb (got 4)'],
      [
        'SYNC_MAX_PAGE_BYTES=big',
        { SYNC_MAX_PAGE_BYTES: 'big' },
        'SYNC_MAX_PAGE_BYTES must be a size such as 4mb, 512kb or a number of bytes',
      ],
      ['SYNC_MAX_REJECTED_BYTES=0', { SYNC_MAX_REJECTED_BYTES: '0' }, 'SYNC_MAX_REJECTED_BYTES must be at least 1kb (got 0)'],
      ['SYNC_TOMBSTONE_DAYS=0', { SYNC_TOMBSTONE_DAYS: '0' }, 'SYNC_TOMBSTONE_DAYS must not be less than 1'],
      [
        'SYNC_RECEIPT_DAYS=a week',
        { SYNC_RECEIPT_DAYS: 'a week' },
        ['SYNC_RECEIPT_DAYS must not be less than 1', 'SYNC_RECEIPT_DAYS must be an integer number'],
      ],
      [
        'a JWT_SECRET shorter than 32 characters',
        { JWT_SECRET: 'x'.repeat(31) },
        'JWT_SECRET must be at least 32 characters (256 bits) for HS256',
      ],
      ['a JWT_PUBLIC_KEY that is not a PEM', { JWT_PUBLIC_KEY: 'not a key' }, 'JWT_PUBLIC_KEY is not a PEM public key'],
      ['an Ed25519 JWT_PUBLIC_KEY', { JWT_PUBLIC_KEY: pemOf('ed25519') }, 'JWT_PUBLIC_KEY must be an RSA or EC key, got ed25519'],
      // Only ES256 is accepted: a P-384 key would start a service that rejects every token.
      [
        'an EC JWT_PUBLIC_KEY on P-384',
        { JWT_PUBLIC_KEY: pemOf('ec', 'P-384') },
        'JWT_PUBLIC_KEY must be an EC key on P-256 (ES256), got secp384r1',
      ],
      ['a JWT_JWKS_URI that is not http(s)', { JWT_JWKS_URI: 'ftp://id.example.com/jwks' }, 'JWT_JWKS_URI must be an http(s) URL'],
      [
        'JWT_SECRET and JWT_PUBLIC_KEY at once',
        { JWT_SECRET: SECRET, JWT_PUBLIC_KEY: RSA_PEM },
        'only one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URI may be set (got JWT_SECRET, JWT_PUBLIC_KEY)',
      ],
      [
        'JWT_PUBLIC_KEY and JWT_JWKS_URI at once',
        { JWT_PUBLIC_KEY: EC_PEM, JWT_JWKS_URI: 'https://id.example.com/.well-known/jwks.json' },
        'only one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URI may be set (got JWT_PUBLIC_KEY, JWT_JWKS_URI)',
      ],
      [
        'NODE_ENV=production without any key',
        { NODE_ENV: 'production' },
        'JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URI is required when NODE_ENV=production',
      ],
    ])('%s', (_, env, messages) => {
      expect(problemsOf(env)).toEqual(typeof messages === 'string' ? [messages] : messages);
    });

    it('reports every problem at once, in one readable error', () => {
      let error: unknown;
      try {
        loadConfig({ PORT: 'abc', SYNC_MAX_BODY: 'lots', JWT_SECRET: 'short' });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigValidationError);
      expect((error as ConfigValidationError).problems).toEqual([
        'PORT must be an integer between 0 and 65535',
        'JWT_SECRET must be at least 32 characters (256 bits) for HS256',
        'SYNC_MAX_BODY must be a size such as 5mb, 512kb or a number of bytes',
      ]);
      expect((error as Error).message).toBe(
        'Invalid configuration:\n' +
          '  - PORT must be an integer between 0 and 65535\n' +
          '  - JWT_SECRET must be at least 32 characters (256 bits) for HS256\n' +
          '  - SYNC_MAX_BODY must be a size such as 5mb, 512kb or a number of bytes',
      );
    });
  });
});
