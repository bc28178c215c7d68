import { connect, Socket } from 'node:net';
import { startTestApp, TestApp } from '../support/test-app';

/** Connects to the app; resolves `closed` with what the server sent when it closes the connection. */
function rawConnection(t: TestApp): Promise<{ socket: Socket; closed: Promise<{ afterMs: number; received: string }> }> {
  const { port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      const opened = performance.now();
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      const closed = new Promise<{ afterMs: number; received: string }>((done) =>
        socket.on('close', () => done({ afterMs: performance.now() - opened, received })),
      );
      resolve({ socket, closed });
    });
    socket.on('error', reject);
  });
}

describe('HTTP server timeouts', () => {
  it('sets headers 10 s, request 60 s and keep-alive 5 s on the server by default', async () => {
    const t = await startTestApp();
    try {
      const server = t.app.getHttpServer();
      expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout]).toEqual([10_000, 60_000, 5_000]);
    } finally {
      await t.close();
    }
  });

  describe('configured short', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '3000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '300' });
    });
    afterAll(() => t?.close());

    it('cuts off a client that sends its headers slowly, past the headers timeout (408, closed)', async () => {
      const { socket, closed } = await rawConnection(t);
      socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      // One header line every 100 ms, for 5 s: never the blank line that ends the headers.
      const trickle = setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 100);
      try {
        const { afterMs, received } = await closed;
        process.stdout.write(`slow headers cut after ${afterMs.toFixed(0)} ms\n`);
        expect(received).toMatch(/^HTTP\/1\.1 408 /);
        expect(afterMs).toBeGreaterThanOrEqual(450);
        expect(afterMs).toBeLessThan(2_000);
      } finally {
        clearInterval(trickle);
        socket.destroy();
      }
    });

    it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
      const { socket, closed } = await rawConnection(t);
      socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
      const { afterMs, received } = await closed;
      expect(received).toMatch(/^HTTP\/1\.1 200 /);
      expect(afterMs).toBeLessThan(2_000);
    });
  });
});
