import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage } from 'node:http';

type VerifyCallback = (result: boolean, code?: number, message?: string) => void;

/**
 * The `ws` adapter, refusing (403, before any message) an upgrade whose `Origin` header is
 * present and not in CORS_ORIGINS (PROTOCOL 3). Browsers always send `Origin` on a WebSocket
 * and CORS does not apply to upgrades, so this is what keeps other sites' pages out; native
 * apps and servers send none and are not affected. A page served by this service itself
 * (same host) is not a cross-origin caller and is accepted too.
 */
export class OriginCheckingWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly allowedOrigins: readonly string[],
  ) {
    super(app);
  }

  override create(port: number, options: Record<string, unknown> & { path?: string } = {}) {
    const verifyClient = (info: { origin?: string; req: IncomingMessage }, done: VerifyCallback) => {
      const origin = info.req.headers.origin;
      if (origin === undefined || this.allowedOrigins.includes(origin) || sameOrigin(origin, info.req.headers.host)) return done(true);
      done(false, 403, 'Origin not allowed');
    };
    return super.create(port, { ...options, verifyClient });
  }
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  return host !== undefined && URL.canParse(origin) && new URL(origin).host === host;
}
