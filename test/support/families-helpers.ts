import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { bearer, mintToken } from '@app/testing';
import { startTestApp, TestApp } from './test-app';

/** Constants and helpers of the families suites (test/families/families-*.e2e-spec.ts). */

export const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const as = (userId: string, familyId?: string) => bearer(mintToken({ sub: userId, ...(familyId ? { familyId } : {}) }));

/** A unique user id per test, so tests share no memberships. */
let users = 0;
export const user = (name: string) => `${name}-${++users}`;

export function expectError(res: Response, statusCode: number, error: string, message: string, details?: unknown): void {
  expect(res.status).toBe(statusCode);
  expect(res.body).toEqual({
    statusCode,
    error,
    message,
    ...(details === undefined ? {} : { details }),
    requestId: res.headers['x-request-id'],
  });
  expect(res.body.requestId).toEqual(expect.any(String));
}

export const notMember = (res: Response) => expectError(res, 403, 'not_a_member', 'you are not a member of this family');
export const notOwner = (res: Response) => expectError(res, 403, 'owner_required', 'only an owner of this family may do this');

/**
 * A families suite: its own app, started before the tests and closed after, and the HTTP
 * helpers on it. Call it inside the suite's describe.
 */
export function familiesSuite() {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const http = () => request(t.server);
  const create = (owner: string, name = 'The Smiths') => http().post('/families').set(as(owner)).send({ name });
  const members = (caller: string, familyId: string, tokenFamily?: string) =>
    http().get(`/families/${familyId}/members`).set(as(caller, tokenFamily));
  const add = (caller: string, familyId: string, userId: string, role: 'member' | 'owner' = 'member') =>
    http().post(`/families/${familyId}/members`).set(as(caller)).send({ userId, role });
  const remove = (caller: string, familyId: string, userId: string) =>
    http()
      .delete(`/families/${familyId}/members/${encodeURIComponent(userId)}`)
      .set(as(caller));

  /** A family owned by `owner`, with `others` added as members or owners. */
  async function family(owner: string, others: Record<string, 'member' | 'owner'> = {}): Promise<string> {
    const res = await create(owner).expect(201);
    for (const [userId, role] of Object.entries(others)) await add(owner, res.body.id, userId, role).expect(201);
    return res.body.id;
  }

  async function rolesIn(familyId: string): Promise<Record<string, string>> {
    const rows: { user_id: string; role: string }[] = await t.app
      .get(DataSource)
      .query('SELECT user_id, role FROM family_members WHERE family_id = $1', [familyId]);
    return Object.fromEntries(rows.map((row) => [row.user_id, row.role]));
  }

  const app = () => t;
  return { app, http, create, members, add, remove, family, rolesIn };
}
