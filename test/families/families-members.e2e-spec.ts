import { as, expectError, familiesSuite, ISO_MILLIS, notMember, notOwner, user } from '../support/families-helpers';

/**
 * Families and their members over HTTP on a real database, one of two suites from the original
 * families.e2e-spec.ts. This one: adding (POST /families/:id/members) and removing
 * (DELETE /families/:id/members/:userId) members. The other is families-create.e2e-spec.ts:
 * creating and the membership checks.
 */
describe('families: add and remove members', () => {
  const { app, http, members, add, remove, family, rolesIn } = familiesSuite();

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
          const res = await fetch(`${app().baseUrl}/families/${familyId}/members/${encodeURIComponent(userId)}`, {
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
