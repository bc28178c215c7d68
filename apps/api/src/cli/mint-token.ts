/**
 * Mints a development token: `npm run token -- --sub alice [--family <id>] [--expires 12h]`.
 * Signs with JWT_SECRET, or with the development secret the service keeps in DATA_DIR when
 * no key is configured. Tokens for real users come from your identity provider.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sign } from 'jsonwebtoken';
import { ConfigValidationError, loadConfig } from '@app/config';
import { loadOrCreateDevSecret } from '../auth/dev-secret';

function main(): void {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      family: { type: 'string' },
      expires: { type: 'string', default: '12h' },
    },
  });
  if (!values.sub) {
    process.stderr.write('usage: npm run token -- --sub <user> [--family <familyId>] [--expires 12h]\n');
    process.exit(64);
  }
  const config = loadConfig(process.env);
  if (config.auth.publicKey || config.auth.jwksUri) {
    process.stderr.write('JWT_PUBLIC_KEY/JWT_JWKS_URI is set: tokens come from your identity provider, not from here\n');
    process.exit(64);
  }
  const secret = config.auth.secret ?? loadOrCreateDevSecret(config.dataDir).secret;
  const token = sign({ sub: values.sub, ...(values.family ? { familyId: values.family } : {}) }, secret, {
    algorithm: 'HS256',
    expiresIn: values.expires as `${number}h`,
    ...(config.auth.issuer ? { issuer: config.auth.issuer } : {}),
    ...(config.auth.audience ? { audience: config.auth.audience } : {}),
  });
  process.stdout.write(`${token}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`${error instanceof ConfigValidationError ? error.message : String(error)}\n`);
  process.exit(1);
}
