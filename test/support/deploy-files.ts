import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(__dirname, '..', '..');
export const DEPLOY_DIR = join(ROOT, 'apps', 'api', 'deploy');

/** Every YAML file under apps/api/deploy, relative path -> its documents (a parse error throws, naming the file). */
export function loadDeployYaml(): Map<string, unknown[]> {
  const files = new Map<string, unknown[]>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) {
        const docs = parseAllDocuments(readFileSync(path, 'utf8'));
        const list = Array.isArray(docs) ? docs : [docs];
        for (const doc of list) {
          if (doc.errors.length > 0) throw new Error(`${relative(ROOT, path)}: ${doc.errors.map((e) => e.message).join('; ')}`);
        }
        files.set(
          relative(DEPLOY_DIR, path),
          list.map((d) => d.toJS()),
        );
      }
    }
  };
  walk(DEPLOY_DIR);
  return files;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed EXPLAIN JSON / YAML documents of open shape, read field by field
export type Manifest = any;

/** Whether `kubectl` (for `kubectl kustomize`) is installed. */
export const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

/** The objects of a kustomization, rendered by `kubectl kustomize`. */
export const renderKustomization = (dir: string): Manifest[] =>
  parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJS());

/** The one manifest of `kind` (named `name` when given) among the k8s files. */
export function manifest(files: Map<string, unknown[]>, kind: string, name?: string): Manifest {
  const found = [...files]
    .filter(([path]) => path.startsWith('k8s/'))
    .flatMap(([, docs]) => docs as Manifest[])
    .filter((m) => m?.kind === kind && (name === undefined || m.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: label matchers, ranges, strings, grouping
 * clauses, function names and numbers removed, what remains are metric names.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/[a-zA-Z_][a-zA-Z0-9_]*\s*\(/g, '(');
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_KEYWORDS.has(n.toLowerCase())))];
}

/** Names of the samples in a Prometheus text exposition (histograms as _bucket/_sum/_count). */
export function exportedSeries(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}
