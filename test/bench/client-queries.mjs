// `npm run bench:client`: bundles client-queries.ts (with the SDK's sources) by esbuild and runs it.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', '.data', 'bench', 'client-queries.mjs');
mkdirSync(dirname(out), { recursive: true });
await build({
  entryPoints: [join(here, 'client-queries.ts')],
  outfile: out,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  alias: { '@delta-sync/client': join(here, '..', '..', 'libs', 'client', 'src', 'index.ts') },
});
await import(pathToFileURL(out).href);
