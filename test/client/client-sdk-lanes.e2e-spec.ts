import { Client } from 'pg';
import { DeltaRequest, DeltaResponse, MemoryStorage } from '@delta-sync/client';
import { sqlClient } from '../support/db-state';
import { seedLedger } from '../support/lanes-helpers';
import { Exchange, recordingFetch, replicaState, sdkClient, sentChanges, serverState } from '../support/client-sdk';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/** The client SDK with sync lanes (PROTOCOL 2.9), against the real service and PostgreSQL. */
describe('client SDK lanes', () => {
  let t: TestApp;
  let sql: Client;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    sql = await sqlClient(t, 'e2e-sdk-lanes');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('opts in: the new task comes on the first page, each request echoes the lanes of the answer before, backlog shows in the status', async () => {
    const f = await createFamily(t, 'alice', 'SDK lanes');
    const storage = new MemoryStorage();
    const log: Exchange[] = [];
    const phone = await sdkClient(t, f, 'phone', { storage, fetch: recordingFetch(log), pageLimit: 50 });
    await phone.sync();
    await seedLedger(sql, f.familyId, 300);
    await syncOk(t, f.token(), { device_id: 'laptop', changes: [change({ entity_id: 'today', data: { title: 'Today' } })] });
    log.length = 0;
    const backlogs: (number | undefined)[] = [];
    phone.on('status', (s) => backlogs.push(s.backlog?.[2]));

    await phone.sync();
    const requests = log.map((e) => JSON.parse(e.body) as DeltaRequest);
    const answers = log.map((e) => JSON.parse(e.response!) as DeltaResponse);
    expect(answers[0]!.server_changes.map((c) => c.entity_id)).toContain('today');
    expect(requests[0]!.lanes).toEqual({});
    for (let i = 1; i < requests.length; i++) {
      expect(requests[i]!.last_sync_at).toBe(answers[i - 1]!.last_sync_at);
      expect(requests[i]!.lanes).toEqual(answers[i - 1]!.lanes);
    }
    expect(requests.length).toBe(7);
    expect(backlogs).toContain(251);
    expect(phone.status().backlog).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect((await storage.load()).lanes).toEqual({});
    expect(replicaState(phone)).toEqual(await serverState(t, f.familyId));
    await phone.stop();
  });

  it('sends the outbox lane by lane (each entity in order); with lanes off, in the order made', async () => {
    const f = await createFamily(t, 'alice', 'SDK outbox lanes');
    for (const lanes of [true, false]) {
      const log: Exchange[] = [];
      const phone = await sdkClient(t, f, `phone-${lanes}`, { fetch: recordingFetch(log), maxBatch: 1, lanes });
      await phone.create('points_ledger', `bonus-${lanes}`, { userId: 'alice', delta: 5 });
      await phone.create('task', `chore-${lanes}`, { title: 'Chore' });
      await phone.update('task', `chore-${lanes}`, { title: 'Chore, renamed' });
      await phone.sync();
      const sent = sentChanges(log)
        .flat()
        .map((c) => `${c.entity_type}:${c.action}`);
      expect(sent).toEqual(lanes ? ['task:create', 'points_ledger:create'] : ['points_ledger:create', 'task:create']);
      expect(log.map((e) => 'lanes' in (JSON.parse(e.body) as object))).toEqual(log.map(() => lanes));
      await phone.stop();
    }
  });
});
