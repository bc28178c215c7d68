import { QueryFailedError } from 'typeorm';
import { databaseUnavailable } from './api-exception.filter';

const pg = (code: string) => new QueryFailedError('SELECT 1', [], Object.assign(new Error('pg'), { code }));

describe('databaseUnavailable: a transient database failure is a 503 with Retry-After', () => {
  it.each([
    ['a killed session', pg('57P01'), 'database_unavailable'],
    ['no connection to be had', new Error('timeout exceeded when trying to connect'), 'database_unavailable'],
    ['a deadlock still failing after the service retried it', pg('40P01'), 'database_unavailable'],
    ['a lock timeout', pg('55P03'), 'database_timeout'],
  ])('%s', (_, error, code) => {
    const answer = databaseUnavailable(error);
    expect(answer?.body).toEqual({ statusCode: 503, error: code, message: expect.stringMatching(/retry later$/) });
    expect(answer?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(answer?.retryAfterSeconds).toBeLessThanOrEqual(5);
  });

  it('leaves every other error to the 5xx/4xx mapping', () => {
    expect(databaseUnavailable(pg('23505'))).toBeUndefined();
    expect(databaseUnavailable(new Error('bug'))).toBeUndefined();
  });
});
