import { QueryFailedError } from 'typeorm';
import { HttpException } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { ApiExceptionFilter, databaseUnavailable } from './api-exception.filter';

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

describe('ApiExceptionFilter: body-parser errors are clear 4xx', () => {
  const filter = new ApiExceptionFilter();
  // Shaped as body-parser's http-errors: status = statusCode, expose for a 4xx.
  const httpError = (status: number, message: string, extra: object) =>
    Object.assign(new Error(message), { status, statusCode: status, expose: true, ...extra });
  const tooLarge = () => httpError(413, 'request entity too large', { type: 'entity.too.large' });
  const badGzip = () => httpError(400, 'incorrect header check', { code: 'Z_DATA_ERROR' });
  // NestJS 12's Express adapter hands them over wrapped in an HttpException (the original as its cause).
  const wrapped = (error: Error) => new ExpressAdapter().mapException(error) as unknown;

  it.each([
    ['thrown as they are', (error: Error) => error],
    ['wrapped by the Express adapter', wrapped],
  ])('%s', (_, hand) => {
    expect(wrapped(tooLarge())).toBeInstanceOf(HttpException);
    expect(filter.toBody(hand(tooLarge()))).toEqual({
      statusCode: 413,
      error: 'payload_too_large',
      message: 'request body is larger than the limit',
    });
    expect(filter.toBody(hand(badGzip()))).toEqual({
      statusCode: 400,
      error: 'bad_request',
      message: 'request body is not valid for its Content-Encoding',
    });
    const invalidJson = Object.assign(new SyntaxError('Unexpected token } in JSON at position 9'), { status: 400, expose: true });
    expect(filter.toBody(hand(invalidJson))).toMatchObject({ statusCode: 400, error: 'bad_request', message: invalidJson.message });
  });
});
