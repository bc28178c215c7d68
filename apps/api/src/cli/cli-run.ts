import { existsSync } from 'node:fs';

/** A release-step CLI's log: one JSON line per event, in the service's log shape, on stdout. */
export const cliLog =
  (context: string) =>
  (msg: string, fields: Record<string, unknown> = {}): void => {
    process.stdout.write(`${JSON.stringify({ level: 'info', time: Date.now(), context, msg, ...fields })}\n`);
  };

/**
 * Runs a release-step CLI (migrate.js, resync-horizon.js): reads `.env` when there is one, then
 * `main`; a failure is one fatal JSON line on stderr and exit code 1.
 */
export function runCli(context: string, main: () => Promise<void>): void {
  if (existsSync('.env')) process.loadEnvFile('.env');
  main().catch((error: unknown) => {
    const msg = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${JSON.stringify({ level: 'fatal', time: Date.now(), context, msg })}\n`);
    process.exit(1);
  });
}
