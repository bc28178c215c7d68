import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';

const DIST = join(__dirname, '..', '..', 'apps', 'demo', 'dist');
const TYPES: Record<string, string> = { html: 'text/html', js: 'text/javascript', css: 'text/css' };

export interface StaticOrigin {
  origin: string;
  close(): Promise<void>;
}

/** The built demo (apps/demo/dist) at /demo on another origin, as a web app's own host would serve it. */
export async function serveDemoElsewhere(): Promise<StaticOrigin> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = path === '/demo' || path === '/demo/' ? 'index.html' : path.replace(/^\/demo\//, '');
    if (!['index.html', 'app.js', 'app.css'].includes(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[file.split('.').pop()!], 'Cache-Control': 'no-cache' });
    res.end(readFileSync(join(DIST, file)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The demo's files for a context whose network is off (what an offline web app's service worker would answer). */
export function demoFile(url: string): { body: Buffer; contentType: string } | null {
  const path = new URL(url).pathname;
  const file = path === '/demo' || path === '/demo/' ? 'index.html' : path.replace(/^\/demo\//, '');
  if (!['index.html', 'app.js', 'app.css'].includes(file)) return null;
  return { body: readFileSync(join(DIST, file)), contentType: TYPES[file.split('.').pop()!] };
}
