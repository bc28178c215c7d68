import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export const hasPgBouncer = spawnSync('pgbouncer', ['--version'], { stdio: 'ignore' }).status === 0;

export interface PgBouncer {
  /** `url` with host and port replaced by the pooler's. */
  through(url: string): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's pgbouncer in transaction mode in front of the server of `directUrl`, with
 * `serverPoolSize` server connections per database and user and the `options` startup
 * parameter ignored (the service's pool sends it). Trust authentication: a test server.
 */
export async function startPgBouncer(directUrl: string, serverPoolSize: number): Promise<PgBouncer> {
  const target = new URL(directUrl);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'delta-sync-pgbouncer-'));
  chmodSync(dir, 0o755);
  const user = decodeURIComponent(target.username);
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'pool_mode = transaction',
      `default_pool_size = ${serverPoolSize}`,
      'max_client_conn = 200',
      'ignore_startup_parameters = extra_float_digits,options',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      '',
    ].join('\n'),
  );
  chmodSync(join(dir, 'pgbouncer.ini'), 0o644);
  // pgbouncer refuses to run as root: -u switches to the postgres user.
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port).catch((error: Error) => {
    throw new Error(`${error.message}:\n${log}`);
  });
  return {
    through(url) {
      const pooled = new URL(url);
      pooled.hostname = '127.0.0.1';
      pooled.port = String(port);
      return pooled.toString();
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => (socket.end(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
