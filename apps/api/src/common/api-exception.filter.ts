import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { classifyDatabaseError, describeDatabaseError, sqlState } from '@app/database';
import { dataExceptionBody, UNSTORABLE_INPUT } from './data-exception';
import { DomainException } from './domain.exception';

export interface ErrorBody {
  statusCode: number;
  /** Stable machine-readable code, e.g. `bad_request`, `not_a_member`. */
  error: string;
  message: string;
  details?: unknown;
  requestId?: string;
}

const snake = (text: string) =>
  text
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
    .toLowerCase();

/** What body-parser (http-errors) throws for bad JSON, a too-large or a badly encoded body. */
interface ClientHttpError extends Error {
  type?: string;
  status: number;
  expose: boolean;
}
const isClientHttpError = (error: unknown): error is ClientHttpError =>
  error instanceof Error &&
  (error as ClientHttpError).expose === true &&
  typeof (error as ClientHttpError).status === 'number' &&
  (error as ClientHttpError).status < 500;
/**
 * Such an error, as it is thrown or as NestJS 12's Express adapter hands it over: wrapped in
 * an HttpException (status and message kept) with the original error as its `cause`.
 */
const clientHttpError = (exception: unknown): ClientHttpError | undefined => {
  if (isClientHttpError(exception)) return exception;
  const cause = exception instanceof HttpException ? exception.cause : undefined;
  return isClientHttpError(cause) ? cause : undefined;
};

/**
 * What a 5xx log keeps of an error: its type, message, code and stack. Never its own other
 * properties: a TypeORM QueryFailedError carries the SQL `parameters` (entity data) and the
 * driver error, which must not reach the logs (PROTOCOL 3: no entity data in logs).
 */
function loggableError(exception: unknown): Record<string, unknown> {
  if (!(exception instanceof Error)) return { type: typeof exception, message: 'non-error thrown' };
  const code = (exception as { code?: unknown }).code;
  return {
    type: exception.constructor?.name ?? exception.name,
    message: exception.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    stack: exception.stack,
  };
}

/** One JSON error shape for every failure; 5xx are logged with their stack, never sent. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { id?: string }>();
    const response = http.getResponse<Response>();
    if (response.headersSent) return;
    // Bodies that are not Nest's default error shape (terminus health reports) pass as they are.
    if (exception instanceof HttpException) {
      const payload = exception.getResponse();
      if (typeof payload === 'object' && payload !== null && !('message' in payload)) {
        response.status(exception.getStatus()).json(payload);
        return;
      }
    }
    const requestId = request.id === undefined ? undefined : String(request.id);
    const transient = databaseUnavailable(exception);
    if (transient) {
      // The transaction is gone and nothing of it was stored: the client resends the same
      // body (exactly-once). One warn line per request, without SQL or stack.
      this.logger.warn({ requestId, db: describeDatabaseError(exception) }, 'database unavailable: answered 503');
      response.setHeader('Retry-After', String(transient.retryAfterSeconds));
      response.status(transient.body.statusCode).json({ ...transient.body, requestId });
      return;
    }
    const body = this.toBody(exception);
    body.requestId = requestId;
    if (body.error === UNSTORABLE_INPUT) {
      this.logger.warn({ sqlState: sqlState(exception), requestId: body.requestId }, 'the database refused a value of the request (400)');
    }
    if (body.statusCode >= 500) {
      this.logger.error({ err: loggableError(exception), requestId: body.requestId }, 'request failed');
    }
    response.status(body.statusCode).json(body);
  }

  toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainException) {
      return { statusCode: exception.status, error: exception.code, message: exception.message, details: exception.details };
    }
    const httpError = clientHttpError(exception);
    if (httpError) {
      const message =
        httpError.type === 'entity.too.large'
          ? 'request body is larger than the limit'
          : httpError.type === undefined && 'code' in httpError && String(httpError.code).startsWith('Z_')
            ? 'request body is not valid for its Content-Encoding'
            : httpError.message;
      return { statusCode: httpError.status, error: snake(HttpStatus[httpError.status] ?? 'bad_request'), message };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const payload = exception.getResponse();
      const raw = typeof payload === 'string' ? payload : (payload as { message?: unknown }).message;
      const messages = Array.isArray(raw) ? raw.map(String) : [String(raw ?? exception.message)];
      return {
        statusCode: status,
        error: snake(HttpStatus[status] ?? 'error'),
        message: messages.join('; '),
        details: messages.length > 1 ? messages : undefined,
      };
    }
    const refused = dataExceptionBody(exception);
    if (refused) return refused;
    return { statusCode: 500, error: 'internal_server_error', message: 'internal server error' };
  }
}

/** Spreads the resends of many clients over a few seconds after an outage. */
const retryAfterSeconds = () => 1 + Math.floor(Math.random() * 3);

/**
 * A request whose database connection broke, could not be had, timed out on a lock or
 * statement, or kept failing serialization: 503 with Retry-After, a transient failure that
 * clients resend. Undefined for every other error.
 */
export function databaseUnavailable(exception: unknown): { body: ErrorBody; retryAfterSeconds: number } | undefined {
  const failure = classifyDatabaseError(exception);
  if (failure === undefined) return undefined;
  const message =
    failure === 'timeout'
      ? 'the database did not answer in time (a lock or statement timeout); retry later'
      : failure === 'retryable'
        ? 'the transaction kept conflicting with concurrent ones; retry later'
        : 'the database is unavailable (the connection was lost or could not be made); retry later';
  return {
    body: {
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: failure === 'timeout' ? 'database_timeout' : 'database_unavailable',
      message,
    },
    retryAfterSeconds: retryAfterSeconds(),
  };
}
