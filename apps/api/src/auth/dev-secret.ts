import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEV_SECRET_FILE = 'jwt-dev-secret';

/**
 * Outside production, with no key configured, the service signs nothing but must verify
 * development tokens: it keeps one random HS256 secret in the data folder, shared with
 * `npm run token`.
 */
export function loadOrCreateDevSecret(dataDir: string): { secret: string; path: string; created: boolean } {
  const path = join(dataDir, DEV_SECRET_FILE);
  if (existsSync(path)) return { secret: readFileSync(path, 'utf8').trim(), path, created: false };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, path, created: true };
}
