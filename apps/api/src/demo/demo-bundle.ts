import { Injectable } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The files `npm run build:demo` writes to apps/demo/dist; nothing else is served. */
export const DEMO_FILES = ['index.html', 'app.js', 'app.css'] as const;

/** Finds apps/demo/dist above this file (from the sources and from the compiled dist/ alike). */
export function findDemoDist(from: string = __dirname): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'apps', 'demo', 'dist');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

@Injectable()
export class DemoBundle {
  private dir: string | null = null;

  /** The file's absolute path; undefined: not a demo file; null: the bundle is not built (yet: looked for again). */
  path(file: string): string | null | undefined {
    if (!(DEMO_FILES as readonly string[]).includes(file)) return undefined;
    this.dir ??= findDemoDist();
    return this.dir === null ? null : join(this.dir, file);
  }
}
