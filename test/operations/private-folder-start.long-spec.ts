import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDataDir } from '../../libs/database/src/embedded-postgres-cache';
import { freePort } from '../support/free-port';

/**
 * The README's `npm start`, as root, on a clone of this repository (its committed HEAD) in a
 * folder the postgres OS user cannot enter (mktemp -d: mode 700), with no configuration:
 * it must come up on the embedded PostgreSQL until /health/ready answers 200.
 *
 * node_modules is hard-linked from this checkout (`cp -al`) instead of a fresh `npm ci`, which
 * would take minutes and the network: the layout is the one `npm ci` leaves, inside the
 * private folder, so the embedded binaries are out of the postgres user's reach as well.
 */
jest.setTimeout(420_000);

const asRoot = process.getuid?.() === 0;
if (!asRoot)
  console.log('npm start from a private folder: skipped (needs root: the embedded PostgreSQL then runs as the postgres OS user)');

async function ready(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return undefined;
  }
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
const exited = (child: ChildProcess) => new Promise<void>((resolve) => (running(child) ? child.once('exit', () => resolve()) : resolve()));

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The postmaster of a cluster, if one runs (its pid file). */
function postmaster(cluster: string): number | undefined {
  try {
    return Number(readFileSync(join(cluster, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

(asRoot ? describe : describe.skip)('npm start on a clone in a private folder (as root)', () => {
  const repo = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: __dirname, encoding: 'utf8' }).trim();
  const privateRoot = mkdtempSync(join(tmpdir(), 'ds-clone-'));
  const clone = join(privateRoot, 'delta-sync');
  const cluster = cachedDataDir(join(clone, '.data', 'pg'));
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(async () => {
    if (child && running(child)) {
      process.kill(-child.pid!, 'SIGKILL');
      await exited(child);
    }
    // A server the service could not stop (it was killed): a fast shutdown, then the folders go.
    const left = postmaster(cluster);
    if (left) {
      process.kill(left, 'SIGINT');
      await waitFor(() => postmaster(cluster) === undefined, 30_000, 'the embedded server to stop').catch(() => undefined);
    }
    rmSync(privateRoot, { recursive: true, force: true });
    rmSync(cluster, { recursive: true, force: true });
  });

  it('serves /health/ready 200 on the embedded PostgreSQL, and says where the cluster lives', async () => {
    expect(statSync(privateRoot).mode & 0o777).toBe(0o700);
    execFileSync('git', ['clone', '--quiet', repo, clone]);
    try {
      execFileSync('cp', ['-al', join(repo, 'node_modules'), join(clone, 'node_modules')]);
    } catch {
      execFileSync('cp', ['-a', join(repo, 'node_modules'), join(clone, 'node_modules')]);
    }
    const [port, pgPort] = [await freePort(), await freePort()];
    // No DATABASE_URL, no JWT key, no DATA_DIR: a newcomer's environment.
    const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) };
    child = spawn('npm', ['start'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));

    const deadline = Date.now() + 360_000;
    let status: number | undefined;
    while (status !== 200 && running(child) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      status = await ready(`http://127.0.0.1:${port}/health/ready`);
    }
    if (status !== 200) throw new Error(`not ready (status ${status}, exit ${child.exitCode}):\n${output.slice(-4000)}`);

    expect(output).toContain(`the embedded cluster lives in ${cluster}`);
    expect(output).toContain(
      `using the embedded PostgreSQL (no DATABASE_URL set): postgres://postgres@127.0.0.1:${pgPort}/delta_sync, data in ${cluster}`,
    );
    expect(postmaster(cluster)).toBeGreaterThan(0);

    // SIGTERM (to npm and the service, as a terminal's Ctrl+C would) drains and stops the
    // embedded server too; npm itself may exit before the service has finished.
    process.kill(-child.pid!, 'SIGTERM');
    await waitFor(() => postmaster(cluster) === undefined, 60_000, 'the service to stop the embedded server');
    await exited(child);
  });
});
