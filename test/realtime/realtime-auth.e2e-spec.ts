import { sign } from 'jsonwebtoken';
import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import { connectWs, openSse, readySse, readyWs } from '../support/realtime-clients';
import { instancePairSuite } from '../support/realtime-helpers';

/**
 * PROTOCOL 2.7, auth of the streams on instance B of two on one database: the first message of
 * a WebSocket, the SSE request, an expiring token and a member removed through instance A.
 */
describe('realtime auth across instances', () => {
  const { a, b, family: f, track } = instancePairSuite();

  describe('auth (WebSocket)', () => {
    const closeOf = async (message: unknown) => {
      const ws = track(await connectWs(b()));
      ws.send(message);
      return ws.closed;
    };

    it('closes 4408 when no auth message arrives within 10 s', async () => {
      const ws = track(await connectWs(b()));
      const started = Date.now();
      expect((await ws.closed).code).toBe(4408);
      expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
    }, 30_000);

    it.each([
      ['a garbage token', () => 'not-a-jwt'],
      ['an expired token', () => mintToken({ sub: 'alice', familyId: f().familyId }, { expiresIn: -60 })],
      ['a token signed with another key', () => mintToken({ sub: 'alice', familyId: f().familyId }, {}, 'x'.repeat(40))],
      [
        'an alg none token',
        () => sign({ sub: 'alice', familyId: f().familyId, exp: Math.floor(Date.now() / 1000) + 600 }, '', { algorithm: 'none' }),
      ],
    ])('closes 4401 on %s', async (_, token) => {
      expect((await closeOf({ type: 'auth', token: token(), device_id: 'd' })).code).toBe(4401);
    });

    it('closes 4401 when the first message is not an auth message', async () => {
      expect((await closeOf({ type: 'ping' })).code).toBe(4401);
    });

    it('closes 4403 for a token without familyId and for a non-member', async () => {
      expect((await closeOf({ type: 'auth', token: mintToken({ sub: 'alice' }), device_id: 'd' })).code).toBe(4403);
      expect((await closeOf({ type: 'auth', token: f().token('mallory'), device_id: 'd' })).code).toBe(4403);
      expect((await closeOf({ type: 'auth', token: mintToken({ sub: 'alice', familyId: 'not-a-uuid' }), device_id: 'd' })).code).toBe(4403);
    });

    it('closes 1008 naming device_id when it is missing', async () => {
      expect(await closeOf({ type: 'auth', token: f().token() })).toEqual({
        code: 1008,
        reason: 'device_id must be a string of 1..128 characters',
      });
    });

    it('closes 4401 when the token expires while connected', async () => {
      const token = mintToken({ sub: 'alice', familyId: f().familyId }, { expiresIn: 2 });
      const ws = track(await readyWs(b(), token, 'short-lived'));
      const sse = track(await readySse(b(), token, 'short-lived-sse'));
      expect((await ws.closed).code).toBe(4401);
      expect(await sse.next((m) => m.type === 'end')).toMatchObject({ type: 'end', code: 4401 });
    });
  });

  describe('auth (SSE)', () => {
    it('answers 401, 403 and 400 before the stream starts', async () => {
      expect((await openSse(b(), undefined, 'd')).status).toBe(401);
      expect((await openSse(b(), 'not-a-jwt', 'd')).status).toBe(401);
      expect((await openSse(b(), mintToken({ sub: 'alice' }), 'd')).status).toBe(403);
      expect((await openSse(b(), f().token('mallory'), 'd')).status).toBe(403);
      const bad = await openSse(b(), f().token(), undefined);
      expect(bad).toMatchObject({
        status: 400,
        body: { error: 'bad_device_id', message: 'device_id must be a string of 1..128 characters' },
      });
    });
  });

  it('a member removed through A has its streams on B closed with 4403', async () => {
    await f().addMember('bob');
    const ws = track(await readyWs(b(), f().token('bob'), 'bob-phone'));
    const sse = track(await readySse(b(), f().token('bob'), 'bob-laptop'));
    const alice = track(await readyWs(b(), f().token('alice'), 'alice-phone'));
    await request(a().server).delete(`/families/${f().familyId}/members/bob`).set(bearer(f().token())).expect(204);
    expect((await ws.closed).code).toBe(4403);
    expect(await sse.next((m) => m.type === 'end')).toMatchObject({ type: 'end', code: 4403 });
    await alice.roundTrip();
    expect(alice.socket.readyState).toBe(alice.socket.OPEN);
  });
});
