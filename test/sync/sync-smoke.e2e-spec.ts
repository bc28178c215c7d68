import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, delta, FamilyFixture } from '../support/sync-fixtures';

describe('sync smoke', () => {
  let t: TestApp;
  let f: FamilyFixture;
  beforeAll(async () => {
    t = await startTestApp();
    f = await createFamily(t);
  });
  afterAll(() => t?.close());

  it('creates, pulls, updates, conflicts', async () => {
    const first = await delta(t, f.token(), { changes: [change({ entity_id: 't1', data: { title: 'A' } })] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      success: true,
      applied_count: 1,
      applied: [{ entity_type: 'task', entity_id: 't1', version: 1 }],
      server_changes: [],
    });
    const other = await delta(t, f.token(), { device_id: 'd2' });
    // The pull page is written as PostgreSQL's JSON text: typed, sized, and not hashed for an ETag.
    expect(other.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(other.headers['content-length'])).toBe(Buffer.byteLength(other.text));
    expect(other.headers.etag).toBeUndefined();
    expect(other.body.server_changes).toEqual([
      expect.objectContaining({
        entity_type: 'task',
        entity_id: 't1',
        action: 'create',
        version: 1,
        data: expect.objectContaining({ title: 'A', status: 'open' }),
      }),
    ]);
    const upd = await delta(t, f.token(), {
      device_id: 'd2',
      last_sync_at: other.body.last_sync_at,
      changes: [change({ entity_id: 't1', action: 'update', version: 1, data: { title: 'B' } })],
    });
    expect(upd.body).toMatchObject({ success: true, applied: [{ version: 2 }], server_changes: [] });
    const stale = await delta(t, f.token(), {
      last_sync_at: first.body.last_sync_at,
      changes: [change({ entity_id: 't1', action: 'update', version: 1, data: { title: 'C' }, client_timestamp: '2020-01-01T00:00:00Z' })],
    });
    expect(stale.body.conflicts).toEqual([
      expect.objectContaining({ resolution: 'server_wins', conflict_reason: 'Version mismatch', server_version: 2 }),
    ]);
    expect(stale.body.server_changes).toEqual([
      expect.objectContaining({ entity_id: 't1', action: 'update', version: 2 }),
      expect.objectContaining({
        entity_type: 'conflict',
        data: expect.objectContaining({ entityId: 't1', rejected: { title: 'C' }, server: { title: 'B' } }),
      }),
    ]);
  });
});
