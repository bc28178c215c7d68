import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { SyncMetrics } from './sync-metrics';

/** Counts every sync request by final HTTP status (guards' 401/403/429 included) and times it. */
@Injectable()
export class SyncMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: SyncMetrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'POST') return next();
    const stop = this.metrics.duration.startTimer();
    res.once('finish', () => {
      stop();
      this.metrics.requests.inc({ status: String(res.statusCode) });
    });
    next();
  }
}
