import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { as, expectError, familiesSuite, ISO_MILLIS, notMember, user, UUID } from '../support/families-helpers';

/**
 * Families and their members over HTTP on a real database, one of two suites from the original
 * families.e2e-spec.ts. This one: POST /families and the membership checks.
 * The other is families-members.e2e-spec.ts: adding and removing members.
 */
describe('families: create, membership checks', () => {
  const { app, http, create, members, add, remove, family, rolesIn } = familiesSuite();

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
      const rows = await app().app.get(DataSource).query('SELECT 1 FROM family_members WHERE user_id = $1', [alice]);
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
});
