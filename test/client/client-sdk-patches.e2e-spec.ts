import { Client } from 'pg';
import { DeltaResponse } from '@delta-sync/client';
import { Exchange, recordingFetch, replicaState, sdkClient, serverState } from '../support/client-sdk';
import { sqlClient } from '../support/db-state';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** The client SDK with field-level pulls (PROTOCOL 2.10), against the real service and PostgreSQL. */
describe('client SDK patches', () => {
  let t: TestApp;
  let sql: Client;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    sql = await sqlClient(t, 'e2e-sdk-restore');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('a one-field edit elsewhere arrives as a patch and is merged: the replica equals the server, the long desc untouched', async () => {
    const f = await createFamily(t, 'alice', 'SDK patches');
    const laptop = await sdkClient(t, f, 'laptop');
    const log: Exchange[] = [];
    const phone = await sdkClient(t, f, 'phone', { fetch: recordingFetch(log) });
    const desc = 'x'.repeat(2000);
    await laptop.create('task', 'long', { title: 'Long', desc });
    await laptop.sync();
    await phone.sync();
    expect(phone.get('task', 'long')!.data).toMatchObject({ desc });

    await laptop.update('task', 'long', { title: 'Renamed' });
    await laptop.sync();
    log.length = 0;
    await phone.sync();
    const answer = JSON.parse(log[0]!.response!) as DeltaResponse;
    expect(JSON.parse(log[0]!.body)).toMatchObject({ patches: true });
    expect(answer.server_changes).toEqual([expect.objectContaining({ entity_id: 'long', patch: true, data: { title: 'Renamed' } })]);
    expect(log[0]!.response!.length).toBeLessThan(800);
    expect(phone.get('task', 'long')!.data).toMatchObject({ title: 'Renamed', desc });
    expect(replicaState(phone)).toEqual(await serverState(t, f.familyId));
    await laptop.stop();
    await phone.stop();
  });

  it('explain(type, id): the server says whether this device has the entity, and why not (PROTOCOL 2.11)', async () => {
    const f = await createFamily(t, 'alice', 'SDK explain');
    const laptop = await sdkClient(t, f, 'laptop-x');
    const phone = await sdkClient(t, f, 'phone-x');
    await phone.sync();
    await laptop.create('task', 'why', { title: 'Why?' });
    await laptop.sync();
    expect(await phone.explain('task', 'why')).toMatchObject({
      delivered: false,
      reason: 'changed_after_last_sync',
      entity: { version: 1 },
    });
    await phone.sync();
    await phone.sync();
    expect(await phone.explain('task', 'why')).toMatchObject({ delivered: true, reason: 'delivered' });
    expect(await phone.explain('task', 'nothing')).toMatchObject({ reason: 'never_existed', entity: null });
    await laptop.stop();
    await phone.stop();
  });

  it('restore(conflictId) writes the lost values back and dismisses as restored in one request; dismiss() as kept_server (PROTOCOL 2.12)', async () => {
    const f = await createFamily(t, 'alice', 'SDK restore');
    const laptop = await sdkClient(t, f, 'laptop-r');
    const log: Exchange[] = [];
    const phone = await sdkClient(t, f, 'phone-r', { fetch: recordingFetch(log) });
    await laptop.create('task', 'r', { title: 'First', desc: 'One' });
    await laptop.sync();
    await phone.sync();
    // The phone edits offline; the laptop's later edits win both fields: two inbox entries.
    await phone.update('task', 'r', { title: 'Mine' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await laptop.update('task', 'r', { title: 'Theirs' });
    await laptop.sync();
    await phone.sync();
    await phone.update('task', 'r', { desc: 'Mine too' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await laptop.update('task', 'r', { desc: 'Theirs too' });
    await laptop.sync();
    await phone.sync();
    const entries = phone.list('conflict').map((e) => ({ id: e.id, rejected: (e.data as { rejected: Record<string, unknown> }).rejected }));
    const titleEntry = entries.find((e) => 'title' in e.rejected)!;
    const descEntry = entries.find((e) => 'desc' in e.rejected)!;
    log.length = 0;
    await phone.restore(titleEntry.id);
    await phone.dismiss(descEntry.id);
    await phone.sync();
    const sent = JSON.parse(log[0]!.body) as { changes: { entity_type: string; action: string; data?: unknown }[] };
    expect(sent.changes.map((c) => [c.entity_type, c.action, c.data])).toEqual([
      ['task', 'update', { title: 'Mine' }],
      ['conflict', 'delete', { decision: 'restored' }],
      ['conflict', 'delete', { decision: 'kept_server' }],
    ]);
    expect(phone.get('task', 'r')!.data).toMatchObject({ title: 'Mine', desc: 'Theirs too' });
    const { rows } = await sql.query(
      'SELECT field, decisions, restored FROM sync_resolution_decisions WHERE family_id = $1 ORDER BY field',
      [f.familyId],
    );
    expect(rows).toEqual([
      { field: 'desc', decisions: 1, restored: 0 },
      { field: 'title', decisions: 1, restored: 1 },
    ]);
    await laptop.stop();
    await phone.stop();
  });
});
