import { QueryFailedError } from 'typeorm';
import { classifyDatabaseError, sqlState } from './database-errors';

const pgError = (code: string, message = 'pg error') => Object.assign(new Error(message), { code });
const wrapped = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);
const errnoError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -111 });

describe('classifyDatabaseError', () => {
  it.each([
    ['terminated by an operator (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['the same, wrapped by TypeORM', wrapped(pgError('57P01'))],
    ['crash shutdown (57P02)', pgError('57P02')],
    ['server starting or in recovery (57P03)', pgError('57P03')],
    ['too many connections (53300)', pgError('53300')],
    ['connection exception class 08', pgError('08006')],
    ['idle-in-transaction timeout (25P03)', pgError('25P03')],
    ['server down (ECONNREFUSED)', errnoError('ECONNREFUSED')],
    ['socket reset (ECONNRESET), wrapped', wrapped(errnoError('ECONNRESET'))],
    ['node-postgres: the socket ended', new Error('Connection terminated unexpectedly')],
    ['node-postgres: a client that lost its connection', new Error('Client has encountered a connection error and is not queryable')],
    ['pg-pool: no connection within the timeout', new Error('timeout exceeded when trying to connect')],
    ['TypeORM: the QueryRunner was released on the error event', new Error('Query runner already released. Cannot run queries anymore.')],
  ])('%s -> unavailable', (_, error) => expect(classifyDatabaseError(error)).toBe('unavailable'));

  it.each([
    ['statement timeout (57014)', pgError('57014')],
    ['lock timeout (55P03)', wrapped(pgError('55P03'))],
  ])('%s -> timeout', (_, error) => expect(classifyDatabaseError(error)).toBe('timeout'));

  it.each([
    ['serialization failure (40001)', wrapped(pgError('40001'))],
    ['deadlock (40P01)', pgError('40P01')],
    ['a prepared statement gone from the session (26000)', pgError('26000')],
  ])('%s -> retryable', (_, error) => expect(classifyDatabaseError(error)).toBe('retryable'));

  it.each([
    ['unique violation (23505)', wrapped(pgError('23505'))],
    ['a data exception (22P05)', pgError('22P05')],
    ['syntax error (42601): a bug, not an outage', pgError('42601')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a non-error', 'boom'],
    ['null', null],
  ])('%s -> not transient', (_, error) => expect(classifyDatabaseError(error)).toBeUndefined());
});

describe('sqlState', () => {
  it('reads the SQLSTATE of a driver error inside a QueryFailedError, and ignores errno codes', () => {
    expect(sqlState(wrapped(pgError('40P01')))).toBe('40P01');
    expect(sqlState(errnoError('ECONNREFUSED'))).toBeUndefined();
  });
});
