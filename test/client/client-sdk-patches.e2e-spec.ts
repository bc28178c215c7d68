import { DeltaResponse } from '@delta-sync/client';
import { Exchange, recordingFetch, replicaState, sdkClient, serverState } from '../support/client-sdk';
import { createFamily } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** The client SDK with field-level pulls (PROTOCOL 2.10), against the real service and PostgreSQL. */
describe('client SDK patches', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

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
});
