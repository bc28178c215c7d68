// Bundles the demo (src/main.ts and the client SDK's sources) into dist/ with esbuild:
// `npm run build:demo`. dist/ is git-ignored; the API serves it at /demo in development.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  alias: { '@delta-sync/client': join(here, '..', '..', 'libs', 'client', 'src', 'index.ts') },
});
for (const file of ['index.html', 'app.css']) copyFileSync(join(here, file), join(out, file));
