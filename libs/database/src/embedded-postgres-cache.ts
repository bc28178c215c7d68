import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface RunAs {
  uid?: number;
  gid?: number;
}

/**
 * Where the embedded cluster lives when the `postgres` OS user cannot reach the project (a
 * clone under /root, mode 700, or in a `mktemp -d` folder): /var/tmp survives reboots
 * (unlike /tmp), so the data is kept between restarts as it is in `.data`.
 */
export const DEFAULT_EMBEDDED_CACHE = '/var/tmp/delta-sync-embedded-pg';

/** True when `runAs` (the postgres OS user) can enter `dir`: asked of the kernel, as that user. */
export function canTraverse(dir: string, runAs: RunAs): boolean {
  if (runAs.uid === undefined) return true;
  const probe = spawnSync('/bin/sh', ['-c', 'cd -- "$1"', 'sh', dir], { ...runAs, cwd: '/', stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * The cluster folder in the cache for a project's data folder: one per project path (two
 * clones never share a cluster; `npm test` and the bench keep their own, as in `.data`).
 */
export function cachedDataDir(dataDir: string, cacheRoot = DEFAULT_EMBEDDED_CACHE): string {
  const absolute = resolve(dataDir);
  const project = basename(dirname(dirname(absolute))).replace(/[^A-Za-z0-9._-]/g, '_');
  const key = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  return join(cacheRoot, 'clusters', `${project}-${basename(absolute)}-${key}`);
}

/** A root-owned folder nobody else can write into (the cache sits in a world-writable /var/tmp). */
export function ensureCacheFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) {
    throw new Error(`${dir} must be a folder owned by the current user and writable by nobody else (remove it and start again)`);
  }
}

/**
 * A copy of the PostgreSQL bundle (`native/`: bin, lib with its symlinks, share) in the cache,
 * made once per package version: hard links where the file system allows, else copies.
 * Built in a temporary folder and renamed into place, so a half-made copy is never used.
 */
export function cachedBinaries(nativeDir: string, version: string, cacheRoot = DEFAULT_EMBEDDED_CACHE): string {
  ensureCacheFolder(cacheRoot);
  const target = join(cacheRoot, `postgresql-${version}-${process.platform}-${process.arch}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const temporary = `${target}.tmp-${process.pid}`;
    rmSync(temporary, { recursive: true, force: true });
    copyTree(nativeDir, temporary);
    try {
      renameSync(temporary, target);
    } catch (error) {
      // Another process finished the same copy first: use theirs.
      rmSync(temporary, { recursive: true, force: true });
      if (!existsSync(join(target, 'bin', 'postgres'))) throw error;
    }
  }
  return join(target, 'bin');
}

function copyTree(from: string, to: string): void {
  const pending: [string, string][] = [[from, to]];
  while (pending.length > 0) {
    const [source, destination] = pending.pop()!;
    mkdirSync(destination, { mode: 0o755 });
    for (const entry of readdirSync(source, { withFileTypes: true })) {
      const src = join(source, entry.name);
      const dst = join(destination, entry.name);
      if (entry.isDirectory()) pending.push([src, dst]);
      else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
      else linkOrCopy(src, dst);
    }
  }
}

function linkOrCopy(source: string, destination: string): void {
  try {
    linkSync(source, destination);
  } catch {
    copyFileSync(source, destination);
    chmodSync(destination, lstatSync(source).mode & 0o777);
  }
}
