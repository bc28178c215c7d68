import type { CorsOptions, CorsOptionsDelegate } from '@nestjs/common/interfaces/external/cors-options.interface';
import type { IncomingMessage } from 'node:http';

/** Browsers cap the preflight cache (Chromium at 2 h); one preflight per endpoint and 2 h, not one per sync. */
export const CORS_MAX_AGE_SECONDS = 7200;

/**
 * CORS for the allowed origins only (PROTOCOL 3): an allowed origin gets the headers on its
 * preflight and actual requests, any other origin gets no CORS header at all (the `cors`
 * package alone would still answer its preflight with the allowed methods and headers).
 * Tokens travel in the Authorization header, never in cookies: no credentials mode.
 */
export function corsOptions(origins: readonly string[]): CorsOptionsDelegate<IncomingMessage> {
  const allowed: CorsOptions = {
    origin: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Content-Encoding'],
    exposedHeaders: ['Retry-After', 'X-Request-Id'],
    maxAge: CORS_MAX_AGE_SECONDS,
    credentials: false,
    optionsSuccessStatus: 204,
  };
  return (req, callback) => {
    const origin = req.headers.origin;
    callback(null, origin !== undefined && origins.includes(origin) ? allowed : { origin: false });
  };
}
