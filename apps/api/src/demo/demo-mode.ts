import type { AppConfig } from '@app/config';

/**
 * The demo (`/demo` and its token endpoint) exists only in development with the development
 * JWT secret: `NODE_ENV=development` and none of `JWT_SECRET`, `JWT_PUBLIC_KEY`,
 * `JWT_JWKS_URI` set, so tokens are verified with the random secret the service keeps in
 * `DATA_DIR/jwt-dev-secret` (auth/dev-secret.ts). A configured key means real users: the
 * service must never mint tokens then, so the module is not even registered (404).
 */
export function demoEnabled(config: Pick<AppConfig, 'env' | 'auth'>): boolean {
  const { secret, publicKey, jwksUri } = config.auth;
  return config.env === 'development' && !secret && !publicKey && !jwksUri;
}

/** The demo family's members; the first one owns it. */
export const DEMO_MEMBERS = ['alice', 'bob', 'carol'] as const;
export type DemoMember = (typeof DEMO_MEMBERS)[number];

export const DEMO_FAMILY_NAME = 'Delta Sync demo family';
