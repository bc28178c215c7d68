import type { AppConfig } from '@app/config';
import { demoEnabled } from './demo-mode';

const config = (env: AppConfig['env'], auth: AppConfig['auth'] = {}) => ({ env, auth });

describe('demoEnabled', () => {
  it('is on in development with the development secret (no key configured)', () => {
    expect(demoEnabled(config('development'))).toBe(true);
    expect(demoEnabled(config('development', { issuer: 'https://id.example.com/' }))).toBe(true);
  });

  it.each<[string, AppConfig['auth']]>([
    ['JWT_SECRET', { secret: 'x'.repeat(32) }],
    ['JWT_PUBLIC_KEY', { publicKey: '-----BEGIN PUBLIC KEY-----' }],
    ['JWT_JWKS_URI', { jwksUri: 'https://id.example.com/jwks.json' }],
  ])('is off in development when %s is set', (_name, auth) => {
    expect(demoEnabled(config('development', auth))).toBe(false);
  });

  it.each<AppConfig['env']>(['production', 'test'])('is off with NODE_ENV=%s', (env) => {
    expect(demoEnabled(config(env))).toBe(false);
  });
});
