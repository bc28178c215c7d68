import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';

type WithId = IncomingMessage & { id?: string };

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const QUIET_PATHS = ['/health/', '/metrics'];

/**
 * The first middleware: every request gets its id (a well-formed client `X-Request-Id`, or a
 * new uuid) before anything can fail, so even a body-parser error names it.
 */
export function assignRequestId(req: WithId, res: ServerResponse, next: () => void): void {
  const header = req.headers['x-request-id'];
  req.id = typeof header === 'string' && CLIENT_REQUEST_ID.test(header) ? header : randomUUID();
  res.setHeader('X-Request-Id', req.id);
  next();
}

/**
 * JSON logs with the request id on every line (`reqId`). Credentials are never logged.
 */
export function loggerParams(level: string): Params {
  return {
    pinoHttp: {
      level,
      quietReqLogger: true,
      genReqId: (req) => req.id ?? randomUUID(),
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      autoLogging: { ignore: (req) => QUIET_PATHS.some((path) => (req.url ?? '').startsWith(path)) },
    },
  };
}
