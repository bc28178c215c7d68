import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { SyncMetrics } from './sync-metrics';

/**
 * Counts every `POST /sync/delta` by final HTTP status and times it. An Express step placed
 * before the token check and the body parser (app.setup.ts), so their refusals (401, 413)
 * count too, as do the guards' 403 and 429.
 */
export function syncRequestMetrics(metrics: SyncMetrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST') return next();
    const stop = metrics.duration.startTimer();
    res.once('finish', () => {
      stop();
      metrics.requests.inc({ status: String(res.statusCode) });
    });
    next();
  };
}
