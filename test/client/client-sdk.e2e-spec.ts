import { ConflictEvent, ErrorEvent, MemoryStorage } from '@delta-sync/client';
import { Exchange, recordingFetch, replicaState, sdkClient, sentChanges, serverState } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The client SDK (libs/client) against the real service and PostgreSQL, as an app uses
 * it: the README example, per-change errors, reads the caller cannot change, offline
 * edits merged in the outbox. Delivery over a bad network is in client-sdk-delivery,
 * recovery from a crash or the tombstone horizon in client-sdk-recovery, the convergence
 * property in client-sdk-property, the rate limit in client-sdk-limits, realtime in
 * client-sdk-live.
 */
describe('client SDK against the server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  it('the README example: create, update, sync; another device sees it; its stale edit comes back as a conflict event', async () => {
    const f = await createFamily(t, 'alice');
    await f.addMember('bob');
    const phone = await sdkClient(t, f, 'phone-1');
    const tablet = await sdkClient(t, f, 'tablet-1', { user: 'bob' });
    const changes: string[] = [];
    phone.on('change', (e) => changes.push(`${e.origin}:${e.entity_id}`));

    await phone.create('task', 'task-1', { title: 'Buy milk', points: 10, assignees: ['bob'] });
    await phone.update('task', 'task-1', { desc: 'two litres' });
    expect(phone.get('task', 'task-1')).toMatchObject({
      version: 0,
      pending: true,
      data: { title: 'Buy milk', desc: 'two litres', status: 'open' },
    });
    // Not sent yet: the update merges into the create.
    expect(phone.pending().map((c) => [c.action, c.version])).toEqual([['create', 0]]);
    await phone.sync();
    expect(phone.pending()).toEqual([]);
    expect(phone.get('task', 'task-1')).toEqual({
      id: 'task-1',
      version: 1,
      pending: false,
      data: { title: 'Buy milk', desc: 'two litres', status: 'open', assignees: ['bob'], due: null, points: 10, completedAt: null },
    });

    await tablet.sync();
    expect(tablet.get('task', 'task-1')?.version).toBe(1);
    // Both edit version 1; the phone syncs first, so the tablet's older title loses.
    await tablet.update('task', 'task-1', { title: 'Buy oat milk' });
    await new Promise((r) => setTimeout(r, 5));
    await phone.update('task', 'task-1', { title: 'Buy soy milk', status: 'done', completedAt: new Date().toISOString() });
    await phone.sync();
    const conflicts: ConflictEvent[] = [];
    tablet.on('conflict', (c) => conflicts.push(c));
    await tablet.sync();
    expect(conflicts).toEqual([expect.objectContaining({ entity_id: 'task-1', resolution: 'server_wins', rejected_fields: ['title'] })]);
    expect(conflicts[0].change?.data).toEqual({ title: 'Buy oat milk' });
    // Bob's points, streak and badge computed by the server reach both replicas.
    await phone.sync();
    const server = await serverState(t, f.familyId);
    expect(server['points_ledger:task_completed:task-1:bob']).toBeDefined();
    expect(replicaState(tablet)).toEqual(server);
    expect(replicaState(phone)).toEqual(server);
    expect(changes).toEqual(expect.arrayContaining(['local:task-1', 'server:task_completed:task-1:bob', 'server:bob']));
    await Promise.all([phone.stop(), tablet.stop()]);
  });

  it('a per-change error is reported once, leaves the outbox and is never resent; the rest of the batch applies', async () => {
    const f = await createFamily(t);
    const log: Exchange[] = [];
    const client = await sdkClient(t, f, 'err-1', { fetch: recordingFetch(log) });
    const errors: ErrorEvent[] = [];
    client.on('error', (e) => errors.push(e));
    await client.create('task', 'ok', { title: 'fine' });
    await client.create('task', 'bad', { title: 'x', points: -5 });
    await client.create('widget', 'w1', { any: 1 });
    await client.sync();
    await client.sync();
    expect(errors.map((e) => (e.kind === 'change' ? [e.change.entity_id, e.error.code] : e.kind))).toEqual([
      ['bad', 'validation'],
      ['w1', 'unknown_entity_type'],
    ]);
    expect(client.pending()).toEqual([]);
    expect(sentChanges(log).map((ids) => ids.length)).toEqual([3, 0]);
    expect(client.get('task', 'bad')).toBeUndefined();
    expect(client.get('task', 'ok')?.version).toBe(1);
    await client.stop();
  });

  it('a caller mutating a returned object changes nothing stored, also after a change applied without data', async () => {
    const f = await createFamily(t);
    const storage = new MemoryStorage();
    const phone = await sdkClient(t, f, 'immutable-1', { storage });
    await phone.create('task', 'im-1', { title: 'kept', assignees: ['bob'] });
    await phone.sync();
    const got = phone.get('task', 'im-1')!;
    expect(() => Object.assign(got.data, { title: 'mutated' })).toThrow(TypeError);
    expect(() => (got.data.assignees as string[]).push('eve')).toThrow(TypeError);
    // Applied as sent: the client computes the new state from its replica.
    await phone.update('task', 'im-1', { points: 3 });
    await phone.sync();
    const stored = (await storage.load()).entities.find((e) => e.entity_id === 'im-1');
    expect(stored?.data).toMatchObject({ title: 'kept', assignees: ['bob'], points: 3 });
    expect((await serverState(t, f.familyId))['task:im-1'].data).toEqual(stored?.data);
    await phone.stop();
  });

  it('100 offline title edits of one task send one change; one already sent is never rewritten', async () => {
    const f = await createFamily(t);
    const net = { offline: false };
    const log: Exchange[] = [];
    const phone = await sdkClient(t, f, 'coalesce-1', { fetch: recordingFetch(log, net), retry: { baseMs: 5, maxMs: 5, maxAttempts: 1 } });
    phone.on('error', () => undefined);
    await phone.create('task', 'co-1', { title: 'first' });
    await phone.sync();
    net.offline = true;
    for (let i = 0; i < 100; i++) await phone.update('task', 'co-1', { title: `edit ${i}` });
    net.offline = false;
    log.length = 0;
    await phone.sync();
    expect(sentChanges(log)).toHaveLength(1);
    expect(sentChanges(log)[0]).toHaveLength(1);
    expect((await serverState(t, f.familyId))['task:co-1']).toMatchObject({ version: 2, data: { title: 'edit 99' } });

    // Sent while offline (the answer never came): the next edit is a change of its own.
    net.offline = true;
    await phone.update('task', 'co-1', { title: 'sent, not answered' });
    await expect(phone.sync()).rejects.toThrow('offline');
    await phone.update('task', 'co-1', { title: 'after' });
    expect(phone.pending().map((c) => c.data)).toEqual([{ title: 'sent, not answered' }, { title: 'after' }]);
    net.offline = false;
    await phone.sync();
    expect((await serverState(t, f.familyId))['task:co-1']).toMatchObject({ version: 4, data: { title: 'after' } });
    await phone.stop();
  });
});
