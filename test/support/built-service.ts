import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../bench/service';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * Compiles the service with `nest build` into a folder of this test run (never dist/, which a
 * developer or the bench may be using) and returns the folder holding `main.js` and `migrate.js`.
 */
export async function buildService(): Promise<{ outDir: string; remove(): void }> {
  const dir = join(ROOT, '.data', `e2e-build-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: '../../apps/api/tsconfig.app.json', compilerOptions: { outDir: './out' } }),
  );
  // The Nest CLI wants the tsconfig path relative to the workspace.
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await run(
      process.execPath,
      [join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build', '--path', relative(ROOT, join(dir, 'tsconfig.json'))],
      {
        cwd: ROOT,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (error) {
    remove();
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`nest build failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
  return { outDir: join(dir, 'out'), remove };
}

/** Runs a compiled CLI (`migrate.js`) to completion. */
export async function runBuilt(
  outDir: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [join(outDir, entry), ...args], { cwd: outDir, env: { PATH: process.env.PATH, ...env } });
}

export interface ServiceProcess {
  name: string;
  baseUrl: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts the compiled service as a child process and waits for /health/ready = 200. */
export async function startBuiltService(outDir: string, name: string, env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(outDir, 'main.js')], {
    cwd: outDir,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => (out = (out + chunk.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (gone) throw new Error(`${name} exited during start:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready within 120 s:\n${out}`);
    }
    const status = await fetch(`${baseUrl}/health/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { name, baseUrl, child, exited, output: () => out };
}
