import request from 'supertest';
import { bearer } from '@app/testing';
import { replay } from '../support/replay-helpers';
import { change, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** PROTOCOL 2.12: resolution preferences learned from the inbox, accepted by an owner. */
describe('resolution preferences (PROTOCOL 2.12)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '1000000' });
  });
  afterAll(() => t?.close());

  const old = (s: number) => new Date(Date.now() - 3_600_000 + s).toISOString();
  const now = () => new Date().toISOString();
  const suggestions = async (f: FamilyFixture) =>
    (await request(t.server).get(`/families/${f.familyId}/resolution-suggestions`).set(bearer(f.token())).expect(200)).body;

  /** `n` lost stale title edits of one task, their inbox entries dismissed, `restored` of them as restored. */
  async function decide(f: FamilyFixture, n: number, restored: number): Promise<void> {
    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [change({ entity_id: 'doc', data: { title: 'First' }, client_timestamp: old(0) })],
    });
    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [change({ entity_id: 'doc', action: 'update', version: 1, data: { title: 'Server' }, client_timestamp: now() })],
    });
    const stale = Array.from({ length: n }, (_, i) =>
      change({
        entity_id: 'doc',
        action: 'update',
        version: 1,
        data: { title: `Mine ${i}` },
        client_timestamp: old(i + 1),
        change_id: `stale-${i}`,
      }),
    );
    const lost = await syncOk(t, f.token(), { device_id: 'phone', changes: stale });
    expect(lost.conflicts).toHaveLength(n);
    const inbox = (await syncOk(t, f.token(), { device_id: 'phone-inbox' })).server_changes.filter((c) => c.entity_type === 'conflict');
    expect(inbox).toHaveLength(n);
    const dismissals = inbox.map((entry, i) =>
      change({
        entity_type: 'conflict',
        entity_id: entry.entity_id,
        action: 'delete',
        data: i < restored ? { decision: 'restored' } : { decision: 'kept_server' },
      }),
    );
    const res = await syncOk(t, f.token(), { device_id: 'phone', changes: dismissals });
    expect(res.applied_count).toBe(n);
  }

  it('20 restores of task.title: a suggestion with its evidence; 19 decisions, 12 of 20, or another family: none', async () => {
    const f = await createFamily(t, 'alice', 'Restores');
    await decide(f, 20, 20);
    expect(await suggestions(f)).toEqual([
      {
        entity_type: 'task',
        field: 'title',
        current: 'last_writer_wins',
        suggested: 'keep_device',
        decisions: 20,
        restored: 20,
        confidence: 0.839,
      },
    ]);
    const few = await createFamily(t, 'alice', 'Nineteen');
    await decide(few, 19, 19);
    expect(await suggestions(few)).toEqual([]);
    const mixed = await createFamily(t, 'alice', 'Twelve');
    await decide(mixed, 20, 12);
    expect(await suggestions(mixed)).toEqual([]);
    expect(await suggestions(await createFamily(t, 'alice', 'Elsewhere'))).toEqual([]);
  });

  it('a dismissal decision other than kept_server or restored is a per-change validation error', async () => {
    const f = await createFamily(t, 'alice', 'Bad decision');
    const res = await syncOk(t, f.token(), {
      device_id: 'phone',
      changes: [change({ entity_type: 'conflict', entity_id: 'x', action: 'delete', data: { decision: 'maybe' } })],
    });
    expect(res.errors).toEqual([
      expect.objectContaining({ code: 'validation', message: expect.stringContaining('kept_server or restored') }),
    ]);
  });

  it('after the owner accepts keep_device for task.title: a stale title wins, the server title goes to the inbox; done-wins and deletes still win', async () => {
    const f = await createFamily(t, 'alice', 'Policy');
    const bob = await f.addMember('bob');
    const seed = await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [
        change({ entity_id: 'p', data: { title: 'First' }, client_timestamp: old(0) }),
        change({ entity_id: 'done', data: { title: 'Done' }, client_timestamp: old(0) }),
        change({ entity_id: 'gone', data: { title: 'Gone' }, client_timestamp: old(0) }),
      ],
    });
    const before = await syncOk(t, f.token(), {
      device_id: 'phone',
      changes: [change({ entity_id: 'p', action: 'update', version: 1, data: { title: 'Early stale' }, client_timestamp: old(-10) })],
    });
    await request(t.server)
      .put(`/families/${f.familyId}/resolution-policies`)
      .set(bearer(bob))
      .send({ entity_type: 'task', field: 'title', rule: 'keep_device' })
      .expect(403);
    await request(t.server)
      .put(`/families/${f.familyId}/resolution-policies`)
      .set(bearer(f.token()))
      .send({ entity_type: 'task', field: 'status', rule: 'keep_device' })
      .expect(400);
    const policies = await request(t.server)
      .put(`/families/${f.familyId}/resolution-policies`)
      .set(bearer(f.token()))
      .send({ entity_type: 'task', field: 'title', rule: 'keep_device' })
      .expect(200);
    expect(policies.body).toEqual([expect.objectContaining({ entity_type: 'task', field: 'title', rule: 'keep_device', set_by: 'alice' })]);

    await syncOk(t, f.token(), {
      device_id: 'laptop',
      changes: [
        change({ entity_id: 'p', action: 'update', version: 1, data: { title: 'Server' }, client_timestamp: now() }),
        change({ entity_id: 'done', action: 'update', version: 1, data: { status: 'done', completedAt: now() }, client_timestamp: now() }),
        change({ entity_id: 'gone', action: 'delete', version: 1, client_timestamp: now() }),
      ],
    });
    const after = await syncOk(t, f.token(), {
      device_id: 'phone',
      last_sync_at: seed.last_sync_at,
      changes: [
        change({ entity_id: 'p', action: 'update', version: 1, data: { title: 'Device' }, client_timestamp: old(5) }),
        change({ entity_id: 'done', action: 'update', version: 1, data: { status: 'open' }, client_timestamp: old(5) }),
        change({ entity_id: 'gone', action: 'update', version: 1, data: { title: 'Back' }, client_timestamp: old(5) }),
      ],
    });
    expect(after.applied[0]).toMatchObject({ entity_id: 'p' });
    expect(after.conflicts.map((c) => [c.entity_id, c.resolution])).toEqual([
      ['done', 'done_wins'],
      ['gone', 'delete_wins'],
    ]);
    const inbox = after.server_changes.filter((c) => c.entity_type === 'conflict').map((c) => c.data as Record<string, unknown>);
    expect(inbox).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ entityId: 'p', reason: 'family policy', rejected: { title: 'Server' }, server: { title: 'Device' } }),
      ]),
    );
    const record = (await request(t.server).get(`/sync/requests/${after.request_id}`).set(bearer(f.token())).expect(200)).body;
    expect(record.outcomes[0]).toMatchObject({ outcome: 'applied', rule: 'family_policy' });
    // Both replay the same: the policy in force is part of each record.
    expect((await replay(t, f.token(), before.request_id!)).same).toBe(true);
    expect((await replay(t, f.token(), after.request_id!)).same).toBe(true);
  });
});
