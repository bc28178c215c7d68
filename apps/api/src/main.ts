import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { ConfigValidationError, loadConfig } from '@app/config';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { demoEnabled } from './demo/demo-mode';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: error.message, problems: error.problems })}\n`);
    process.exit(78); // EX_CONFIG
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  configureApp(app, config);
  drainOnSignal(app, config.http.shutdownDrainMs);
  await app.listen(config.http.port, config.http.host);

  const url = `http://${config.http.host === '0.0.0.0' ? 'localhost' : config.http.host}:${config.http.port}`;
  app
    .get(Logger)
    .log(
      `Delta Sync listening on ${url} (${config.http.docs ? `docs ${url}/docs, ` : ''}health ${url}/health/ready, ` +
        `metrics ${config.http.metricsPort === undefined ? url : `port ${config.http.metricsPort}`}/metrics)` +
        (config.auth.secret || config.auth.publicKey || config.auth.jwksUri ? '' : '; mint a dev token: npm run token -- --sub alice') +
        (demoEnabled(config) ? `; demo web app ${url}/demo` : '') +
        (config.env !== 'production' && config.http.host === '127.0.0.1'
          ? '; reachable from this machine only (the default outside production: set HOST=0.0.0.0 to listen on every interface)'
          : ''),
      'Bootstrap',
    );
}

/**
 * SIGTERM starts Nest's graceful shutdown (enableShutdownHooks): stop accepting, let
 * in-flight requests finish, close the pool. Two additions make that drain end:
 * - a keep-alive client (a load balancer, a device's HTTP agent) would otherwise keep sending
 *   on its open connection and hold the drain open as long as it likes: from the signal on,
 *   every response says `Connection: close`, so the next request opens a connection to
 *   another instance;
 * - a request stuck behind a lock could hold it open until the orchestrator's SIGKILL: after
 *   SHUTDOWN_DRAIN_MS the process exits anyway (code 1), so terminationGracePeriodSeconds
 *   can be sized against a known number (preStop pause + SHUTDOWN_DRAIN_MS + margin).
 */
function drainOnSignal(app: NestExpressApplication, drainMs: number): void {
  let draining = false;
  app.use((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
    if (draining) res.setHeader('Connection', 'close');
    next();
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      draining = true;
      setTimeout(() => {
        app.get(Logger).error(`requests still in flight ${drainMs} ms after ${signal}: exiting without them`, 'Bootstrap');
        process.exit(1);
      }, drainMs).unref();
    });
  }
}

void bootstrap();
