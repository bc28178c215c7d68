import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { readySse, readyWs, SseClient, WsClient } from '../support/realtime-clients';
import { change, createFamily, delta, FamilyFixture } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Family ids are UUIDs; an issuer may print them in upper case. The token's familyId is the
 * same family in any case, so removing a member closes its streams whatever case its token used.
 */
describe('auth: a familyId claim in upper case is the same family', () => {
  let t: TestApp;
  let f: FamilyFixture;
  const open: (WsClient | SseClient)[] = [];
  const track = <T extends WsClient | SseClient>(client: T): T => (open.push(client), client);

  beforeAll(async () => {
    t = await startTestApp();
    f = await createFamily(t);
  });
  afterEach(() => open.splice(0).forEach((c) => c.close()));
  afterAll(() => t?.close());

  it.each([
    ['upper case', (id: string) => id.toUpperCase()],
    ['lower case', (id: string) => id],
  ])('a member removed while holding a token with the familyId in %s: WebSocket 4403, SSE ended 4403, HTTP sync 403', async (_, cased) => {
    const member = `bob-${open.length}-${Date.now()}`;
    await f.addMember(member);
    const token = mintToken({ sub: member, familyId: cased(f.familyId) });
    const first = await delta(t, token, { device_id: 'bob-phone', changes: [change({ entity_id: `t-${member}`, data: { title: 'x' } })] });
    expect(first.status).toBe(200);
    const ws = track(await readyWs(t, token, 'bob-phone'));
    const sse = track(await readySse(t, token, 'bob-laptop'));

    await request(t.server).delete(`/families/${f.familyId}/members/${member}`).set(bearer(f.token())).expect(204);

    expect((await ws.closed).code).toBe(4403);
    expect(await sse.next((m) => m.type === 'end')).toMatchObject({ type: 'end', code: 4403 });
    const after = await delta(t, token, { device_id: 'bob-phone' });
    expect(after.status).toBe(403);
  });
});
