import { createHmac, generateKeyPairSync, KeyObject } from 'node:crypto';
import request, { Response } from 'supertest';
import { TestApp } from './test-app';

/** Constants and helpers of the auth suites (test/families/auth-*.e2e-spec.ts); none starts an app. */

export const ISSUER = 'https://id.example.com/';
export const AUDIENCE = 'delta-sync';
export const now = () => Math.floor(Date.now() / 1000);

export const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const pemOf = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

export const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token assembled by hand, for what jsonwebtoken refuses to sign (`alg: none`, HMAC over a PEM). */
export function craftToken(header: Record<string, unknown>, payload: Record<string, unknown>, hmacSecret?: string): string {
  const signingInput = `${base64url(header)}.${base64url(payload)}`;
  const signature = hmacSecret === undefined ? '' : createHmac('sha256', hmacSecret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/**
 * POST /families needs nothing but a valid token: the probe for "is this token accepted?".
 * Probes expected to fail are named `Rejected`, so a test can check that none was stored.
 */
export const createFamily = (t: TestApp, headers: Record<string, string> = {}, name = 'Probe') =>
  request(t.server).post('/families').set(headers).send({ name });
export const rejectedProbe = (t: TestApp, headers: Record<string, string> = {}) => createFamily(t, headers, 'Rejected');

export function expectUnauthorized(res: Response, message: string): void {
  expect(res.status).toBe(401);
  expect(res.body).toEqual({ statusCode: 401, error: 'unauthorized', message, requestId: res.headers['x-request-id'] });
  expect(res.body.requestId).toEqual(expect.any(String));
}

export function expectCreated(res: Response): void {
  expect(res.status).toBe(201);
  expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Probe', role: 'owner' });
}
