/**
 * What a database failure means for the request that met it. Pure: an error in, a class out.
 *
 * - `unavailable`: the connection broke or none could be had (a failover, a pooler restart,
 *   an operator's `pg_terminate_backend`, the server down or full). The transaction is gone,
 *   so nothing of it was stored: the client resends the same body (retries are exactly-once).
 * - `timeout`: a statement or lock timeout (the family lock held too long elsewhere).
 * - `retryable`: a serialization failure or deadlock; the whole unit of work may run again.
 * - `undefined`: anything else (a bug, a data exception): not transient.
 */
export type DatabaseFailure = 'unavailable' | 'timeout' | 'retryable';

/** SQLSTATEs of a lost or refused connection. */
const UNAVAILABLE_STATES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '57P05', // idle_session_timeout
  '53300', // too_many_connections
  '25P03', // idle_in_transaction_session_timeout
]);
const TIMEOUT_STATES = new Set(['57014', '55P03']); // query_canceled (statement_timeout), lock_not_available
// serialization_failure, deadlock_detected; invalid_sql_statement_name: a statement prepared on the
// session is gone (DISCARD ALL): the transaction runs again and prepares it anew (see PreparedSql)
const RETRYABLE_STATES = new Set(['40001', '40P01', '26000']);

/** Socket-level errors of node-postgres and Node's net module. */
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Messages node-postgres, pg-pool and TypeORM use for a dead or unobtainable connection. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /is not queryable/, // "Client has encountered a connection error and is not queryable", "Client was closed ..."
  /^timeout exceeded when trying to connect/,
  /^Query runner already released/, // TypeORM releases a QueryRunner whose client emitted 'error'
  /^Cannot use a pool after calling end on the pool/,
  /^Connection closed/,
];

/** The SQLSTATE of a pg error, also when TypeORM wrapped it (QueryFailedError copies `code`). */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string' && /^[0-9A-Z]{5}$/.test(own)) return own;
  const driver = (error as { driverError?: unknown }).driverError;
  return driver === undefined || driver === error ? undefined : sqlState(driver);
}

function errno(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_ERRNOS.has(code)) return code;
    e = (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function classifyDatabaseError(error: unknown): DatabaseFailure | undefined {
  const state = sqlState(error);
  if (state !== undefined) {
    if (UNAVAILABLE_STATES.has(state) || state.startsWith('08')) return 'unavailable';
    if (TIMEOUT_STATES.has(state)) return 'timeout';
    if (RETRYABLE_STATES.has(state)) return 'retryable';
    return undefined;
  }
  if (errno(error) !== undefined) return 'unavailable';
  const message = error instanceof Error ? error.message : undefined;
  if (message !== undefined && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return 'unavailable';
  return undefined;
}

/** What a log line may say of a database failure: no SQL, no parameters, no stack. */
export function describeDatabaseError(error: unknown): { sqlState?: string; errno?: string; message: string } {
  return {
    sqlState: sqlState(error),
    errno: errno(error),
    message: error instanceof Error ? error.message : String(error),
  };
}
