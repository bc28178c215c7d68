/**
 * Summarises a V8 CPU profile of the service (written by `BENCH_CPU_PROF=1 npm run bench`):
 * top functions by self time, by inclusive time (the service's own code), and self time by
 * package.
 *
 *   npx ts-node --transpile-only test/bench/profile-summary.ts [file.cpuprofile | dir] [--top N] [--callers NAME] [--skip S] [--until U]
 *
 * --skip S, --until U: only the samples between S and U seconds after the start (a scenario's window).
 *
 * --callers NAME: for the functions named NAME (e.g. writev), the nearest JavaScript
 * frames of packages or service code that led to them, by self time.
 * Without an argument: the newest profile in .data/bench/profile.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = resolve(__dirname, '..', '..');

function newestProfile(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  return files[0];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  return u.startsWith(ROOT) ? u.slice(ROOT.length + 1) : u;
}

/** Where a frame's code lives: a package, the service, node internals, or a V8 pseudo-frame. */
function category(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = u.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (u.startsWith('node:')) return 'node internals';
  if (u.includes('/dist/')) return 'service code (dist)';
  return shortUrl(url);
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const top = Number(option('--top') ?? 30);
  const callersOf = option('--callers');
  /** Seconds of the profile's start to leave out (the service's start-up and the bench's set-up). */
  const skipUs = Number(option('--skip') ?? 0) * 1e6;
  /** Seconds from the profile's start after which samples are left out. */
  const untilUs = Number(option('--until') ?? Infinity) * 1e6;
  const optionValues = new Set(['--top', '--callers', '--skip', '--until'].map((o) => args.indexOf(o) + 1).filter((i) => i > 0));
  const target = args.find((a, i) => !a.startsWith('--') && !optionValues.has(i)) ?? join(ROOT, '.data', 'bench', 'profile');
  const file = statSync(target).isDirectory() ? newestProfile(target) : target;
  const profile: CpuProfile = JSON.parse(readFileSync(file, 'utf8'));

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;

  const callers = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const categories = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let at = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at < skipUs || at > untilUs) return;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    total += dt;
    self.set(key(node), (self.get(key(node)) ?? 0) + dt);
    if (callersOf && node.callFrame.functionName === callersOf) {
      // The chain of the nearest three frames outside node internals and native code.
      const chain: string[] = [];
      for (let cur = parent.get(id); cur !== undefined && chain.length < 3; cur = parent.get(cur)) {
        const frame = byId.get(cur)!.callFrame;
        if (!frame.url || frame.url.startsWith('node:')) continue;
        chain.push(key(byId.get(cur)!));
      }
      const k = chain.join('  <-  ') || '(no JavaScript caller)';
      callers.set(k, (callers.get(k) ?? 0) + dt);
    }
    const cat = category(node.callFrame);
    categories.set(cat, (categories.get(cat) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  });

  const ms = (us: number) => (us / 1000).toFixed(0).padStart(8);
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const print = (title: string, entries: [string, number][]) => {
    process.stdout.write(`\n${title}\n`);
    for (const [k, v] of entries) process.stdout.write(`${ms(v)} ms ${pct(v)}  ${k}\n`);
  };
  const wall = (Math.min(profile.endTime - profile.startTime, untilUs) - skipUs) / 1e6;
  process.stdout.write(
    `${file}\nwall ${wall.toFixed(1)} s, busy ${(total / 1e6).toFixed(1)} s (${((total / 1e6 / wall) * 100).toFixed(0)}% of one core), idle ${(idle / 1e6).toFixed(1)} s\n`,
  );
  print('Self time by package / area', [...categories].sort((a, b) => b[1] - a[1]).slice(0, 20));
  print(`Top ${top} functions by self time`, [...self].sort((a, b) => b[1] - a[1]).slice(0, top));
  if (callersOf) print(`Callers of ${callersOf} (nearest package/service frames)`, [...callers].sort((a, b) => b[1] - a[1]).slice(0, top));
  print(
    `Top ${top} service functions by inclusive time`,
    [...inclusive]
      .filter(([k]) => k.includes('dist/'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top),
  );
}

main();
