import request from 'supertest';
import { bearer } from '@app/testing';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The device history (PROTOCOL 2.8), through HTTP on a real database: the second describe of
 * the original conflict-inbox.e2e-spec.ts (the inbox itself is conflict-inbox-entries.e2e-spec.ts).
 */
describe('device history (PROTOCOL 2.8)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const history = (token: string, device: string, query = '') =>
    request(t.server)
      .get(`/sync/devices/${encodeURIComponent(device)}/history${query}`)
      .set(bearer(token));

  it('lists the outcomes of a device, newest first, with resolution or code', async () => {
    const f = await createFamily(t, 'alice');
    const ok = (body: Record<string, unknown>) => syncOk(t, f.token(), { device_id: 'phone', ...body });
    await ok({ changes: [change({ entity_id: 'h1', data: { title: 'one' }, client_timestamp: '2025-11-11T09:00:00Z' })] });
    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [
        change({ entity_id: 'h1', action: 'update', version: 1, data: { title: 'two' }, client_timestamp: '2025-11-11T12:00:00Z' }),
      ],
    });
    await ok({
      changes: [
        change({ entity_id: 'h1', action: 'update', version: 1, data: { title: 'three' }, client_timestamp: '2025-11-11T10:00:00Z' }),
        change({ entity_id: 'h2', data: { title: 42 as unknown as string } }),
        change({ entity_id: 'h3', action: 'delete', version: 0 }),
      ],
    });
    const res = await history(f.token(), 'phone').expect(200);
    expect(res.body).toEqual([
      { at: expect.any(String), entity_type: 'task', entity_id: 'h3', action: 'delete', outcome: 'applied' },
      { at: expect.any(String), entity_type: 'task', entity_id: 'h2', action: 'create', outcome: 'error', code: 'validation' },
      { at: expect.any(String), entity_type: 'task', entity_id: 'h1', action: 'update', outcome: 'conflict', resolution: 'server_wins' },
      { at: expect.any(String), entity_type: 'task', entity_id: 'h1', action: 'create', outcome: 'applied' },
    ]);
    expect(res.body[0].at >= res.body[3].at).toBe(true);
    // The laptop's own history has its one change.
    expect((await history(f.token(), 'laptop').expect(200)).body).toEqual([
      expect.objectContaining({ entity_id: 'h1', outcome: 'applied' }),
    ]);
  });

  it('limit: default 50, 1..500, anything else is a 400 naming it', async () => {
    const f = await createFamily(t, 'alice');
    const changes = Array.from({ length: 60 }, (_, i) => change({ entity_id: `l${i}`, data: { title: `t${i}` } }));
    await syncOk(t, f.token(), { device_id: 'bulk', changes });
    expect((await history(f.token(), 'bulk').expect(200)).body).toHaveLength(50);
    const two = (await history(f.token(), 'bulk', '?limit=2').expect(200)).body;
    expect(two.map((e: { entity_id: string }) => e.entity_id)).toEqual(['l59', 'l58']);
    expect((await history(f.token(), 'bulk', '?limit=500').expect(200)).body).toHaveLength(60);
    for (const bad of ['0', '501', '-1', 'ten', '1.5']) {
      const res = await history(f.token(), 'bulk', `?limit=${bad}`).expect(400);
      expect(res.body.message).toMatch(/limit/);
    }
  });

  it("another family's device is not visible (an empty list, as for a device that never synced); non-members are refused", async () => {
    const mine = await createFamily(t, 'alice');
    const theirs = await createFamily(t, 'mallory');
    await syncOk(t, theirs.token(), { device_id: 'their-phone', changes: [change({ entity_id: 'secret', data: { title: 's' } })] });
    expect((await history(mine.token(), 'their-phone').expect(200)).body).toEqual([]);
    expect((await history(mine.token(), 'never-synced').expect(200)).body).toEqual([]);
    // A token naming a family its user does not belong to.
    await history(mine.token('eve'), 'their-phone').expect(403);
  });
});
