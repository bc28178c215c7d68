import request from 'supertest';
import { bearer, TEST_JWT_SECRET } from '@app/testing';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The demo's server side (issue 14): the token endpoint exists only in development with the
 * development JWT secret, mints working tokens for one demo family, and is 404 otherwise.
 * The page itself is covered by the browser test (`npm run test:browser`).
 */
describe('demo endpoints', () => {
  describe('in development with the development secret', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ NODE_ENV: 'development', JWT_SECRET: undefined });
    });
    afterAll(() => t?.close());

    it('mints tokens for the members of one demo family, also when asked in parallel', async () => {
      const answers = await Promise.all(
        ['alice', 'bob', 'carol', 'alice', 'bob', 'carol'].map((member) => request(t.server).post('/demo/token').send({ member })),
      );
      for (const res of answers) expect(res.status).toBe(200);
      const families = new Set(answers.map((r) => r.body.familyId));
      expect(families.size).toBe(1);
      expect(answers.map((r) => r.body.userId)).toEqual(['alice', 'bob', 'carol', 'alice', 'bob', 'carol']);

      const [familyId] = families;
      const members = await request(t.server).get(`/families/${familyId}/members`).set(bearer(answers[1].body.token)).expect(200);
      expect(members.body.map((m: { userId: string; role: string }) => [m.userId, m.role]).sort()).toEqual([
        ['alice', 'owner'],
        ['bob', 'member'],
        ['carol', 'member'],
      ]);
      const sync = await request(t.server)
        .post('/sync/delta')
        .set(bearer(answers[2].body.token))
        .send({ device_id: 'demo-e2e' })
        .expect(200);
      expect(sync.body.success).toBe(true);
    });

    it('refuses a member outside the demo family with a 400 naming the field', async () => {
      const res = await request(t.server).post('/demo/token').send({ member: 'mallory' }).expect(400);
      expect(JSON.stringify(res.body)).toContain('member must be one of alice, bob, carol');
    });

    it('serves only the demo files', async () => {
      await request(t.server).get('/demo/package.json').expect(404);
      await request(t.server).get('/demo/..%2F..%2Fpackage.json').expect(404);
    });
  });

  it.each<[string, Record<string, string | undefined>]>([
    ['production', { NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET }],
    ['development with JWT_SECRET', { NODE_ENV: 'development', JWT_SECRET: TEST_JWT_SECRET }],
    ['test', { NODE_ENV: 'test', JWT_SECRET: undefined }],
  ])('does not exist in %s (404)', async (_name, env) => {
    const t = await startTestApp(env);
    try {
      await request(t.server).post('/demo/token').send({ member: 'alice' }).expect(404);
      await request(t.server).get('/demo').expect(404);
      await request(t.server).get('/demo/app.js').expect(404);
    } finally {
      await t.close();
    }
  });
});
