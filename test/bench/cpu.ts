import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds used so far by the service, the PostgreSQL processes and the bench itself (Linux /proc). */
export interface CpuSnapshot {
  at: number;
  service: number;
  postgres: number;
  bench: number;
}

export interface CpuShare {
  wallSeconds: number;
  /** CPU seconds per wall second (1.0 = one core busy). */
  serviceCores: number;
  postgresCores: number;
  benchCores: number;
}

const TICKS_PER_SECOND = 100;

function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuSeconds(pid: number | string): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND : 0;
}

/** Every process named `postgres` on this machine (the bench's server is local: loopback or embedded). */
function postgresSeconds(): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return Number.NaN;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    total += cpuSeconds(entry);
  }
  return total;
}

export function cpuSnapshot(servicePid: number): CpuSnapshot {
  const own = process.cpuUsage();
  return { at: performance.now(), service: cpuSeconds(servicePid), postgres: postgresSeconds(), bench: (own.user + own.system) / 1e6 };
}

export function cpuShare(from: CpuSnapshot, to: CpuSnapshot): CpuShare {
  const wall = (to.at - from.at) / 1000;
  const r = (v: number) => Math.round((v / wall) * 100) / 100;
  return {
    wallSeconds: Math.round(wall * 10) / 10,
    serviceCores: r(to.service - from.service),
    postgresCores: r(to.postgres - from.postgres),
    benchCores: r(to.bench - from.bench),
  };
}

/**
 * CPU seconds of one PostgreSQL cluster: its postmaster, its live children, and the children
 * it has reaped (cutime/cstime: backends and autovacuum workers that exited during the
 * window). Only this cluster, so other databases' servers on the machine do not count; other
 * databases of the same cluster do (run the bench on its own cluster, the embedded default,
 * for clean figures).
 */
export function clusterSeconds(postmasterPid: number): number {
  const { backends, autovacuum, background } = clusterSplit(postmasterPid);
  return backends + autovacuum + background;
}

/** A cluster's CPU seconds by kind of process (see `clusterSplit`). */
export interface ClusterSplit {
  /** Live client backends (the service's pooled connections, the bench's own). */
  backends: number;
  /** Autovacuum workers: the live ones, and every child the postmaster reaped (pooled backends live through a run, so those are mostly finished autovacuum workers). */
  autovacuum: number;
  /** The postmaster and its background processes (WAL writer, checkpointer, background writer, launchers). */
  background: number;
}

/** Titles of PostgreSQL's own processes (after `postgres: ` and an optional `<cluster_name>: `). */
const BACKGROUND =
  /^postgres: (\S+: )?(checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher|archiver|stats collector)/;

/**
 * `clusterSeconds` by process kind, from each child's title (`postgres: <role> <db> ...`
 * for a client backend, `postgres: autovacuum worker ...`, PostgreSQL's own processes): which part of PostgreSQL's CPU
 * grows in a soak.
 */
export function clusterSplit(postmasterPid: number): ClusterSplit {
  const own = statFields(postmasterPid);
  if (!own) return { backends: Number.NaN, autovacuum: Number.NaN, background: Number.NaN };
  const split: ClusterSplit = {
    backends: 0,
    autovacuum: (Number(own[13]) + Number(own[14])) / TICKS_PER_SECOND,
    background: (Number(own[11]) + Number(own[12])) / TICKS_PER_SECOND,
  };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(entry);
    if (!f || Number(f[1]) !== postmasterPid) continue;
    let title = '';
    try {
      title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      // Exited since its stat was read: its CPU still counts (as a backend's).
    }
    const seconds = (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
    if (title.includes('autovacuum worker')) split.autovacuum += seconds;
    else if (BACKGROUND.test(title)) split.background += seconds;
    else split.backends += seconds;
  }
  return split;
}

/** Resident memory of a process in MB (VmRSS). */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The postmaster of the server `client` is connected to (the parent of its backend), if local. */
export function postmasterOf(backendPid: number): number | undefined {
  const f = statFields(backendPid);
  return f ? Number(f[1]) : undefined;
}
