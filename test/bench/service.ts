import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { HttpClient } from './http';

export interface ServiceOptions {
  root: string;
  databaseUrl: string;
  jwtSecret: string;
  outDir: string;
  /** Write a V8 CPU profile of the service to `outDir/profile` (BENCH_CPU_PROF=1). */
  cpuProfile: boolean;
  log: (message: string) => void;
}

export interface RunningService {
  baseUrl: string;
  pid: number;
  logFile: string;
  profileDir?: string;
  stop(): Promise<void>;
}

export const SERVICE_ENTRY = join('dist', 'apps', 'api', 'main.js');

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the built service (`node dist/.../main.js`) as a child process on the bench
 * database and waits until /health/ready answers 200 (migrations applied).
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const entry = join(options.root, SERVICE_ENTRY);
  if (!existsSync(entry)) throw new Error(`${entry} not found: build the service first (npx nest build)`);
  const port = await freePort();
  mkdirSync(options.outDir, { recursive: true });
  const logFile = join(options.outDir, 'service.log');
  const log = createWriteStream(logFile, { flags: 'w' });

  const env: NodeJS.ProcessEnv = { ...process.env };
  // Only one JWT key source may be configured; issuer/audience checks would reject the bench tokens.
  for (const name of ['JWT_PUBLIC_KEY', 'JWT_JWKS_URI', 'JWT_ISSUER', 'JWT_AUDIENCE', 'TEST_DATABASE_URL']) delete env[name];
  Object.assign(env, {
    NODE_ENV: process.env.NODE_ENV ?? 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: options.databaseUrl,
    DB_MIGRATIONS_RUN: 'true',
    JWT_SECRET: options.jwtSecret,
    LOG_LEVEL: 'warn',
    SYNC_RATE_LIMIT: '0',
    DATA_DIR: join(options.outDir, 'service-data'),
  });

  let args: string[];
  let profileDir: string | undefined;
  if (options.cpuProfile) {
    profileDir = join(options.outDir, 'profile');
    mkdirSync(profileDir, { recursive: true });
    // A profile is only written on a normal exit; Nest re-raises SIGTERM after its shutdown
    // hooks, which would kill the process without one. So the bench asks the child to exit
    // through the IPC channel instead.
    const bootstrap = `process.on('message', (m) => { if (m === 'bench:exit') process.exit(0); }); require(${JSON.stringify(entry)});`;
    args = ['--cpu-prof', '--cpu-prof-dir', profileDir, '-e', bootstrap];
  } else {
    args = [entry];
  }

  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: options.root,
    env,
    stdio: options.cpuProfile ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );

  const baseUrl = `http://127.0.0.1:${port}`;
  const client = new HttpClient(baseUrl);
  const deadline = Date.now() + 120_000;
  try {
    for (;;) {
      if (exited) throw new Error(`the service exited during start (code ${exited.code}, signal ${exited.signal}):\n${tail}`);
      if (Date.now() > deadline) throw new Error(`the service was not ready within 120 s:\n${tail}`);
      const ready = await client.request('GET', '/health/ready').catch(() => undefined);
      if (ready?.status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (error) {
    child.kill('SIGKILL');
    await exitPromise;
    log.end();
    throw error;
  } finally {
    client.close();
  }
  options.log(`service ready on ${baseUrl} (pid ${child.pid}, log ${logFile})`);

  let stopping: Promise<void> | undefined;
  return {
    baseUrl,
    pid: child.pid!,
    logFile,
    profileDir,
    stop: () =>
      (stopping ??= (async () => {
        if (!exited) {
          if (options.cpuProfile && child.connected) child.send('bench:exit');
          else child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exitPromise;
          clearTimeout(timer);
        }
        await new Promise<void>((resolve) => log.end(resolve));
      })()),
  };
}
