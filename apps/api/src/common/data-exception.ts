import { sqlState } from '@app/database';
import type { ErrorBody } from './api-exception.filter';

export const UNSTORABLE_INPUT = 'unstorable_input';

/**
 * Class 22 (data exception: a NUL byte, a bad jsonb escape, a value out of range...) and
 * 54001 (statement too complex: stack depth) say the request's own input could not be
 * stored or computed. The input guard refuses what it knows before any SQL runs; this is
 * the last line of defence for what it does not know: 400, never a 500.
 */
export function isDataException(sqlState: string | undefined): boolean {
  return sqlState !== undefined && (sqlState.startsWith('22') || sqlState === '54001');
}

/**
 * The 400 for a data exception, or undefined for any other error. The message gives the
 * SQLSTATE only: PostgreSQL's text can quote the value, and values are entity data.
 */
export function dataExceptionBody(error: unknown): ErrorBody | undefined {
  const state = sqlState(error);
  if (!isDataException(state)) return undefined;
  return {
    statusCode: 400,
    error: UNSTORABLE_INPUT,
    message: `the database cannot store or process a value of this request (SQLSTATE ${state}); nothing of it was applied`,
    details: { sqlState: state },
  };
}
