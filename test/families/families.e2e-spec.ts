import { randomUUID } from 'node:crypto';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { bearer, mintToken } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';

const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const as = (userId: string, familyId?: string) => bearer(mintToken({ sub: userId, ...(familyId ? { familyId } : {}) }));

/** A unique user id per test, so tests share no memberships. */
let users = 0;
const user = (name: string) => `${name}-${++users}`;

function expectError(res: Response, statusCode: number, error: string, message: string, details?: unknown): void {
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

const notMember = (res: Response) => expectError(res, 403, 'not_a_member', 'you are not a member of this family');
const notOwner = (res: Response) => expectError(res, 403, 'owner_required', 'only an owner of this family may do this');

describe('families', () => {
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

  describe('POST /families', () => {
    it('201 {id, name, role: owner}; the caller becomes the owner', async () => {
      const alice = user('alice');
      const before = Date.now();
      const res = await create(alice, 'The Smiths');
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.stringMatching(UUID), name: 'The Smiths', role: 'owner' });

      const list = await members(alice, res.body.id);
      expect(list.status).toBe(200);
      expect(list.body).toEqual([{ userId: alice, role: 'owner', joinedAt: expect.stringMatching(ISO_MILLIS) }]);
      const joinedAt = Date.parse(list.body[0].joinedAt);
      expect(joinedAt).toBeGreaterThanOrEqual(before - 5_000);
      expect(joinedAt).toBeLessThanOrEqual(Date.now() + 5_000);
    });

    it('creates a new family on every call, also for a token that already names a family', async () => {
      const alice = user('alice');
      const first = await create(alice).expect(201);
      const second = await http().post('/families').set(as(alice, first.body.id)).send({ name: 'Second' }).expect(201);
      expect(second.body).toEqual({ id: expect.stringMatching(UUID), name: 'Second', role: 'owner' });
      expect(second.body.id).not.toBe(first.body.id);
    });

    it('accepts a name of 200 characters', async () => {
      const res = await create(user('alice'), 'n'.repeat(200));
      expect(res.status).toBe(201);
      expect(res.body.name).toBe('n'.repeat(200));
    });

    it.each<[string, unknown, string, string[] | undefined]>([
      [
        'a missing name',
        {},
        'name must be longer than or equal to 1 characters; name must be a string',
        ['name must be longer than or equal to 1 characters', 'name must be a string'],
      ],
      ['an empty name', { name: '' }, 'name must be longer than or equal to 1 characters', undefined],
      ['a 201-character name', { name: 'n'.repeat(201) }, 'name must be shorter than or equal to 200 characters', undefined],
      [
        'a name that is not a string',
        { name: 5 },
        'name must be longer than or equal to 1 and shorter than or equal to 200 characters; name must be a string',
        ['name must be longer than or equal to 1 and shorter than or equal to 200 characters', 'name must be a string'],
      ],
      ['an unknown field', { name: 'ok', plan: 'premium' }, 'property plan should not exist', undefined],
    ])('400 for %s, and nothing is stored', async (_, body, message, details) => {
      const alice = user('alice');
      const res = await http()
        .post('/families')
        .set(as(alice))
        .send(body as object);
      expectError(res, 400, 'bad_request', message, details);
      const rows = await t.app.get(DataSource).query('SELECT 1 FROM family_members WHERE user_id = $1', [alice]);
      expect(rows).toEqual([]);
    });
  });

  describe('membership checks', () => {
    it('403 not_a_member for a non-member on GET, POST and DELETE', async () => {
      const owner = user('owner');
      const stranger = user('stranger');
      const id = await family(owner);
      notMember(await members(stranger, id));
      notMember(await add(stranger, id, stranger, 'owner'));
      notMember(await remove(stranger, id, owner));
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner' });
    });

    it.each(['not-a-uuid', '123', 'ffffffff-ffff-ffff-ffff-fffffffffffz', "x' OR '1'='1"])(
      '403 not_a_member, not 500, for the family id %p',
      async (id) => {
        const caller = user('alice');
        const path = `/families/${encodeURIComponent(id)}/members`;
        notMember(await http().get(path).set(as(caller)));
        notMember(await http().post(path).set(as(caller)).send({ userId: 'bob', role: 'member' }));
        notMember(await http().delete(`${path}/bob`).set(as(caller)));
      },
    );

    it('403 not_a_member for a well-formed id that names no family', async () => {
      notMember(await members(user('alice'), randomUUID()));
    });

    it("403 when the token's familyId names another family, even for a member of both", async () => {
      const alice = user('alice');
      const first = await family(alice);
      const second = await family(alice);
      const res = await members(alice, first, second);
      expectError(res, 403, 'token_scoped_to_other_family', "the token's familyId names another family");
      const scoped = await http().post(`/families/${first}/members`).set(as(alice, second)).send({ userId: 'bob', role: 'member' });
      expectError(scoped, 403, 'token_scoped_to_other_family', "the token's familyId names another family");
      expect(await rolesIn(first)).toEqual({ [alice]: 'owner' });
    });

    it("200 when the token's familyId names the same family", async () => {
      const alice = user('alice');
      const id = await family(alice);
      const res = await members(alice, id, id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual([{ userId: alice, role: 'owner', joinedAt: expect.stringMatching(ISO_MILLIS) }]);
    });
  });

  describe('POST /families/:id/members', () => {
    it('201 when an owner adds a member, who can then list the members', async () => {
      const owner = user('owner');
      const bob = user('bob');
      const id = await family(owner);
      const res = await add(owner, id, bob, 'member');
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ userId: bob, role: 'member', joinedAt: expect.stringMatching(ISO_MILLIS) });

      const list = await members(bob, id);
      expect(list.status).toBe(200);
      expect(list.body).toEqual([
        { userId: owner, role: 'owner', joinedAt: expect.stringMatching(ISO_MILLIS) },
        { userId: bob, role: 'member', joinedAt: res.body.joinedAt },
      ]);
    });

    it('an added owner may add members too', async () => {
      const owner = user('owner');
      const co = user('co');
      const carol = user('carol');
      const id = await family(owner, { [co]: 'owner' });
      expect((await add(co, id, carol)).status).toBe(201);
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner', [co]: 'owner', [carol]: 'member' });
    });

    it('403 owner_required when a member adds someone', async () => {
      const owner = user('owner');
      const bob = user('bob');
      const carol = user('carol');
      const id = await family(owner, { [bob]: 'member' });
      notOwner(await add(bob, id, carol));
      notOwner(await add(bob, id, bob, 'owner'));
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner', [bob]: 'member' });
    });

    it('409 already_a_member for a duplicate, whatever the role, and the role is unchanged', async () => {
      const owner = user('owner');
      const bob = user('bob');
      const id = await family(owner, { [bob]: 'member' });
      const conflict = { userId: bob };
      expectError(await add(owner, id, bob, 'member'), 409, 'already_a_member', 'the user is already a member of this family', conflict);
      expectError(await add(owner, id, bob, 'owner'), 409, 'already_a_member', 'the user is already a member of this family', conflict);
      expectError(await add(owner, id, owner, 'member'), 409, 'already_a_member', 'the user is already a member of this family', {
        userId: owner,
      });
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner', [bob]: 'member' });
    });

    it.each<[string, unknown, string]>([
      ['no role', { userId: 'bob' }, 'role must be one of the following values: member, owner'],
      ['an unknown role', { userId: 'bob', role: 'admin' }, 'role must be one of the following values: member, owner'],
      ['an empty userId', { userId: '', role: 'member' }, 'userId must be longer than or equal to 1 characters'],
      ['a 129-character userId', { userId: 'u'.repeat(129), role: 'member' }, 'userId must be shorter than or equal to 128 characters'],
      ['an unknown field', { userId: 'bob', role: 'member', familyId: 'x' }, 'property familyId should not exist'],
    ])('400 for %s', async (_, body, message) => {
      const owner = user('owner');
      const id = await family(owner);
      expectError(
        await http()
          .post(`/families/${id}/members`)
          .set(as(owner))
          .send(body as object),
        400,
        'bad_request',
        message,
      );
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner' });
    });
  });

  describe('DELETE /families/:id/members/:userId', () => {
    it('204 when an owner removes a member; that member is refused on the very next request', async () => {
      const owner = user('owner');
      const bob = user('bob');
      const id = await family(owner, { [bob]: 'member' });
      expect((await members(bob, id)).status).toBe(200);

      const res = await remove(owner, id, bob);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      notMember(await members(bob, id));
      notMember(await members(bob, id, id));
      notMember(await remove(bob, id, bob));
      expect((await members(owner, id)).body).toEqual([{ userId: owner, role: 'owner', joinedAt: expect.stringMatching(ISO_MILLIS) }]);
    });

    it('a removed user can be added again', async () => {
      const owner = user('owner');
      const bob = user('bob');
      const id = await family(owner, { [bob]: 'member' });
      await remove(owner, id, bob).expect(204);
      expect((await add(owner, id, bob)).status).toBe(201);
      expect((await members(bob, id)).status).toBe(200);
    });

    it('404 member_not_found for a user who is not a member', async () => {
      const owner = user('owner');
      const id = await family(owner);
      expectError(await remove(owner, id, 'nobody'), 404, 'member_not_found', 'the user is not a member of this family', {
        userId: 'nobody',
      });
    });

    it('409 last_owner when the last owner removes themself, even with members left', async () => {
      const owner = user('owner');
      const bob = user('bob');
      const id = await family(owner, { [bob]: 'member' });
      expectError(await remove(owner, id, owner), 409, 'last_owner', 'a family must keep at least one owner');
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner', [bob]: 'member' });
    });

    it('an owner may remove another owner while one stays', async () => {
      const owner = user('owner');
      const co = user('co');
      const id = await family(owner, { [co]: 'owner' });
      expect((await remove(owner, id, co)).status).toBe(204);
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner' });
      expectError(await remove(owner, id, owner), 409, 'last_owner', 'a family must keep at least one owner');
    });

    it('a member may remove themself (204), and is then refused', async () => {
      const owner = user('owner');
      const bob = user('bob');
      const id = await family(owner, { [bob]: 'member' });
      expect((await remove(bob, id, bob)).status).toBe(204);
      notMember(await members(bob, id));
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner' });
    });

    it('403 owner_required when a member removes someone else', async () => {
      const owner = user('owner');
      const bob = user('bob');
      const carol = user('carol');
      const id = await family(owner, { [bob]: 'member', [carol]: 'member' });
      notOwner(await remove(bob, id, carol));
      notOwner(await remove(bob, id, owner));
      notOwner(await remove(bob, id, 'nobody'));
      expect(await rolesIn(id)).toEqual({ [owner]: 'owner', [bob]: 'member', [carol]: 'member' });
    });

    const parallel = (...calls: [caller: string, familyId: string, userId: string][]) =>
      Promise.all(
        calls.map(async ([caller, familyId, userId]) => {
          const res = await fetch(`${t.baseUrl}/families/${familyId}/members/${encodeURIComponent(userId)}`, {
            method: 'DELETE',
            headers: as(caller),
          });
          return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
        }),
      );

    // The family row lock serialises removals, so the second one sees the first one's result.
    it('two owners leaving at once: exactly one 204 and one 409 last_owner, and one owner stays', async () => {
      for (let round = 0; round < 10; round++) {
        const a = user('a');
        const b = user('b');
        const id = await family(a, { [b]: 'owner' });
        const results = await parallel([a, id, a], [b, id, b]);
        expect(results.map((r) => r.status).sort()).toEqual([204, 409]);
        expect(results.find((r) => r.status === 409)!.body).toEqual({
          statusCode: 409,
          error: 'last_owner',
          message: 'a family must keep at least one owner',
          requestId: expect.any(String),
        });
        const roles = await rolesIn(id);
        expect(Object.values(roles)).toEqual(['owner']);
        expect(roles[[a, b][results.findIndex((r) => r.status === 409)]]).toBe('owner');
      }
    });

    // Whichever removal commits first, the other caller is then no longer a member: per the
    // contract a (family, sub) pair without a member row gets 403, so the loser's answer is
    // 403 not_a_member (not 409), and the family never ends up without an owner.
    it('two owners removing each other at once: exactly one 204, the other refused, and one owner stays', async () => {
      for (let round = 0; round < 10; round++) {
        const a = user('a');
        const b = user('b');
        const id = await family(a, { [b]: 'owner' });
        const results = await parallel([a, id, b], [b, id, a]);
        expect(results.map((r) => r.status).sort()).toEqual([204, 403]);
        expect(results.find((r) => r.status === 403)!.body).toEqual({
          statusCode: 403,
          error: 'not_a_member',
          message: 'you are not a member of this family',
          requestId: expect.any(String),
        });
        const winner = [a, b][results.findIndex((r) => r.status === 204)];
        expect(await rolesIn(id)).toEqual({ [winner]: 'owner' });
      }
    });
  });
});
