import { generateKeyPairSync } from 'node:crypto';
import { ConfigValidationError, loadConfig } from './load-config';

/** Keys and helpers shared by the loadConfig specs (test-only: excluded from the build like the specs). */
export const SECRET = 'x'.repeat(32);
export const pemOf = (type: 'rsa' | 'ec' | 'ed25519', namedCurve = 'P-256') => {
  const { publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve })
        : generateKeyPairSync('ed25519');
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
};
export const JWKS_URI = 'http://localhost:8080/jwks.json';
export const RSA_PEM = pemOf('rsa');
export const EC_PEM = pemOf('ec');

/** The problems `loadConfig` reports for `env`, or [] when it accepts it. */
export function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as ConfigValidationError).problems;
  }
}
