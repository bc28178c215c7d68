import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { register } from 'prom-client';
import type { AppConfig } from '@app/config';

/**
 * `/metrics` on METRICS_PORT, a plain HTTP server beside the API's: the API port (public
 * through the ingress) no longer serves it, and a NetworkPolicy can open this port to the
 * scraper alone. Same default registry, same exposition as the API route it replaces.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;

  constructor(
    private readonly config: ConfigService<AppConfig, true>,
    @InjectPinoLogger(MetricsServer.name) private readonly logger: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { host, metricsPort } = this.config.get('http', { infer: true });
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      register.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': register.contentType }).end(text),
        (err: unknown) => {
          this.logger.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve, reject) => this.server!.once('error', reject).listen(metricsPort, host, resolve));
    this.logger.info({ port: this.port() }, 'metrics served on their own port');
  }

  /** The bound port (METRICS_PORT=0 picks a free one). */
  port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
