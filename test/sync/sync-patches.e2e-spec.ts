import { Client } from 'pg';
import { sqlClient } from '../support/db-state';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** PROTOCOL 2.10: field-level pulls. A device that holds an entity gets only the fields written since its cursor. */
describe('field-level pulls (PROTOCOL 2.10)', () => {
  let t: TestApp;
  let sql: Client;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
    sql = await sqlClient(t, 'e2e-patches');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const at = () => new Date().toISOString();

  it('a one-field edit of a task with a 2,000-character desc: a patch under 300 bytes; without patches, the full entity', async () => {
    const f = await createFamily(t, 'alice', 'Patches');
    const desc = 'd'.repeat(2000);
    await syncOk(t, f.token(), { device_id: 'laptop', changes: [change({ entity_id: 'long', data: { title: 'Long', desc } })] });
    const held = await syncOk(t, f.token(), { device_id: 'phone', patches: true });
    expect(held.server_changes[0]).toMatchObject({ entity_id: 'long', action: 'create', data: { title: 'Long', desc } });
    expect(held.server_changes[0]).not.toHaveProperty('patch');

    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [change({ entity_id: 'long', action: 'update', version: 1, data: { title: 'Renamed' }, client_timestamp: at() })],
    });
    const patched = await syncOk(t, f.token(), { device_id: 'phone', last_sync_at: held.last_sync_at, patches: true });
    const [entry] = patched.server_changes;
    expect(entry).toMatchObject({ entity_id: 'long', action: 'update', patch: true, data: { title: 'Renamed' }, version: 2 });
    expect(Object.keys(entry!.data!)).toEqual(['title']);
    expect(Buffer.byteLength(JSON.stringify(entry))).toBeLessThan(300);

    const whole = await syncOk(t, f.token(), { device_id: 'phone', last_sync_at: held.last_sync_at });
    expect(whole.server_changes[0]).not.toHaveProperty('patch');
    expect(whole.server_changes[0]!.data).toMatchObject({ title: 'Renamed', desc });
  });

  it('full entries where the device cannot hold the entity or a patch is no smaller: created after the cursor, deleted, every field written', async () => {
    const f = await createFamily(t, 'alice', 'Patches full');
    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [change({ entity_id: 'gone', data: { title: 'Gone' } }), change({ entity_id: 'all', data: { title: 'All' } })],
    });
    const held = await syncOk(t, f.token(), { device_id: 'phone', patches: true });
    const edits = [
      change({ entity_id: 'new', data: { title: 'New' } }),
      change({ entity_id: 'gone', action: 'delete', version: 1, client_timestamp: at() }),
    ];
    await syncOk(t, f.token(), { device_id: 'laptop', changes: edits });
    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [
        change({
          entity_id: 'all',
          action: 'update',
          version: 1,
          data: { title: 'Everything', status: 'in_progress' },
          client_timestamp: at(),
        }),
      ],
    });
    const res = await syncOk(t, f.token(), { device_id: 'phone', last_sync_at: held.last_sync_at, patches: true });
    const byId = Object.fromEntries(res.server_changes.map((c) => [c.entity_id, c]));
    expect(byId.new).toMatchObject({ action: 'create', data: { title: 'New' } });
    expect(byId.new).not.toHaveProperty('patch');
    expect(byId.gone).toMatchObject({ action: 'delete', data: null });
    expect(byId.gone).not.toHaveProperty('patch');
    expect(byId.all).toMatchObject({ patch: true, data: { title: 'Everything', status: 'in_progress' } });
  });

  it('server computations: a device that holds the streak gets, as a patch, only the field a later completion changed', async () => {
    const f = await createFamily(t, 'alice', 'Patches streak');
    const day = (ago: number) => new Date(Date.now() - ago * 86_400_000).toISOString();
    const done = (id: string, ago: number) =>
      change({ entity_id: id, data: { title: id, status: 'done', completedAt: day(ago), assignees: ['alice'] } });
    // A run of three days that ended two days ago: currentStreak 0, longestStreak 3.
    await syncOk(t, f.token(), { device_id: 'laptop', changes: [done('d5', 5), done('d4', 4), done('d3', 3)] });
    const held = await syncOk(t, f.token(), { device_id: 'phone', patches: true });
    const streak = held.server_changes.find((c) => c.entity_type === 'user_streak')!;
    expect(streak.data).toEqual({ currentStreak: 0, longestStreak: 3 });
    // Yesterday: a new run of one; the longest stays 3.
    await syncOk(t, f.token(), { device_id: 'laptop', changes: [done('d1', 1)] });
    const res = await syncOk(t, f.token(), { device_id: 'phone', last_sync_at: held.last_sync_at, patches: true });
    const next = res.server_changes.find((c) => c.entity_type === 'user_streak' && c.entity_id === streak.entity_id);
    expect(next).toMatchObject({ action: 'update', patch: true, data: { currentStreak: 1 } });
    expect(Object.keys(next!.data!)).toEqual(['currentStreak']);
    const { rows } = await sql.query('SELECT data FROM user_streaks WHERE family_id = $1 AND id = $2', [f.familyId, streak.entity_id]);
    expect({ ...streak.data, ...next!.data }).toEqual(rows[0].data);
  });
});
