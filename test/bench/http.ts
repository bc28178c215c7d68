import http from 'node:http';

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  /** Wall time from sending the request to the last byte of the response (client serialisation and parsing excluded). */
  ms: number;
  bytes: number;
}

/**
 * A minimal JSON client over node:http with keep-alive connections: less client-side
 * overhead than fetch, so the latencies are the service's. One client = one agent; give
 * each simulated device its own client (maxSockets 1) to model one connection per device.
 */
export class HttpClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, maxSockets = 1) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 });
  }

  request<T = unknown>(method: string, path: string, body?: unknown, token?: string, retried = false): Promise<HttpResult<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const ms = performance.now() - started;
          const raw = Buffer.concat(chunks);
          let parsed: unknown = undefined;
          if (raw.length > 0) {
            try {
              parsed = JSON.parse(raw.toString('utf8'));
            } catch {
              parsed = raw.toString('utf8');
            }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, ms, bytes: raw.length });
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed (its keepAliveTimeout) just as it was reused:
        // the request never reached the service; send it once more (Node's documented pattern).
        if (!retried && req.reusedSocket && error.code === 'ECONNRESET') resolve(this.request<T>(method, path, body, token, true));
        else reject(error);
      });
      req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${path}: no answer within 120 s`)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  post<T = unknown>(path: string, body: unknown, token?: string): Promise<HttpResult<T>> {
    return this.request<T>('POST', path, body, token);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Throws with the response when the status is not the expected one. */
export function expectStatus<T>(res: HttpResult<T>, status: number, what: string): HttpResult<T> {
  if (res.status !== status) {
    const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
    throw new Error(`${what}: HTTP ${res.status} (expected ${status}): ${text?.slice(0, 500)}`);
  }
  return res;
}
