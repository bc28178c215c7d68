import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import compression from 'compression';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppConfig, HttpConfig } from '@app/config';
import { authenticateBeforeBody } from './auth/authenticate-before-body';
import { RouteTable } from './auth/route-table';
import { TokenVerifier } from './auth/token-verifier';
import { assignRequestId } from './common/logging';
import { corsOptions } from './common/cors';
import { OriginCheckingWsAdapter } from './realtime/origin-checking-ws.adapter';
import { SyncMetrics } from './sync/metrics/sync-metrics';
import { syncRequestMetrics } from './sync/metrics/sync-metrics.middleware';
import { buildOpenApiDocument } from './openapi';

/**
 * Everything about the HTTP layer that is not a module: shared by main.ts and the e2e
 * helpers so that tests exercise the production pipeline (limits, headers, docs).
 */
export function configureApp(app: NestExpressApplication, config: AppConfig): NestExpressApplication {
  app.useLogger(app.get(Logger));
  app.use(assignRequestId);
  // CORS_ORIGINS empty: no CORS middleware at all, so no CORS header on any answer.
  if (config.http.corsOrigins.length > 0) app.enableCors(corsOptions(config.http.corsOrigins));
  app.useWebSocketAdapter(new OriginCheckingWsAdapter(app, config.http.corsOrigins));
  app.disable('x-powered-by');
  // No ETag on API answers: they are per-caller JSON, mostly to POSTs (no 304 can follow), and
  // Express's default hashes every body with SHA-1 (a 1,000-entity pull page is ~650 KB).
  // The demo's static files keep theirs (sendFile sets its own).
  app.set('etag', false);
  app.use(helmet({ contentSecurityPolicy: false }));
  app.use(compression());
  // Before the token check: the docs are Express routes of their own, open like @Public() ones.
  // Off in production unless API_DOCS=true: the full API description is no one else's business.
  if (config.http.docs) SwaggerModule.setup('docs', app, buildOpenApiDocument(app, config), { jsonDocumentUrl: 'docs-json' });
  app.use('/sync/delta', syncRequestMetrics(app.get(SyncMetrics)));
  const log = app.get(Logger);
  app.use(
    authenticateBeforeBody(app.get(TokenVerifier), app.get(RouteTable), (req, status, reason) =>
      log.warn(
        { reqId: (req as { id?: string }).id, method: req.method, url: req.originalUrl.split('?')[0], status, reason },
        'refused before the body',
        'Auth',
      ),
    ),
  );
  // Inflates `Content-Encoding: gzip` bodies; the limit applies to the inflated body.
  app.useBodyParser('json', { limit: config.http.bodyLimitBytes, inflate: true });
  app.enableShutdownHooks();
  applyServerTimeouts(app.getHttpServer(), config.http);
  return app;
}

/**
 * Node's defaults let a client hold a connection for minutes by sending its headers or body
 * slowly (headers 60 s, request 300 s). Node checks these timeouts every
 * `connectionsCheckingInterval` (30 s by default, read when the server starts listening):
 * checked every second, a headers timeout of 10 s cuts a slow client after 10-11 s.
 */
export function applyServerTimeouts(
  server: { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval?: number },
  http: Pick<HttpConfig, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>,
): void {
  server.headersTimeout = http.headersTimeoutMs;
  server.requestTimeout = http.requestTimeoutMs;
  server.keepAliveTimeout = http.keepAliveTimeoutMs;
  server.connectionsCheckingInterval = Math.min(1_000, http.headersTimeoutMs);
}
