import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { sqlState } from '@app/database';
import { dataExceptionBody, isDataException } from './data-exception';

const pgError = (code: string, message = 'boom') => Object.assign(new DatabaseError(message, 0, 'error'), { code });

describe('data exceptions', () => {
  it.each<[string, boolean]>([
    ['22021', true], // invalid byte sequence (a NUL in text)
    ['22P05', true], // untranslatable character (\u0000 in jsonb)
    ['22P02', true], // invalid text representation (bad jsonb escape, bad uuid)
    ['22003', true], // numeric value out of range
    ['54001', true], // statement too complex (stack depth)
    ['54000', false], // program limit exceeded: not a data exception
    ['23505', false], // unique violation
    ['40001', false], // serialization failure: transient
    ['57P01', false], // admin shutdown: transient
    ['08006', false], // connection failure
  ])('%s is a data exception: %s', (code, expected) => {
    expect(isDataException(code)).toBe(expected);
    expect(dataExceptionBody(pgError(code))?.statusCode).toBe(expected ? 400 : undefined);
  });

  it('reads the SQLSTATE of a TypeORM QueryFailedError and of its driver error', () => {
    const driver = pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00');
    expect(sqlState(new QueryFailedError('INSERT ...', ['secret'], driver))).toBe('22021');
    expect(sqlState({ driverError: driver })).toBe('22021');
  });

  it('answers 400 unstorable_input without quoting the value', () => {
    const error = new QueryFailedError(
      'INSERT ...',
      ['private data'],
      pgError('22P02', 'invalid input syntax for type uuid: "private data"'),
    );
    const body = dataExceptionBody(error)!;
    expect(body).toEqual({
      statusCode: 400,
      error: 'unstorable_input',
      message: 'the database cannot store or process a value of this request (SQLSTATE 22P02); nothing of it was applied',
      details: { sqlState: '22P02' },
    });
    expect(JSON.stringify(body)).not.toContain('private');
  });

  it('leaves every other error alone', () => {
    for (const error of [new Error('x'), new TypeError('y'), { code: 'ECONNREFUSED' }, { code: 22021 }, null, undefined, 'text']) {
      expect(dataExceptionBody(error)).toBeUndefined();
    }
  });
});
