import request from 'supertest';
import { bearer } from '@app/testing';
import type { ReplayAnswer } from '../../apps/api/src/sync/requests/request-replay';
import type { RequestSummary } from '../../apps/api/src/sync/requests/sync-requests.repository';
import { TestApp } from './test-app';

/** GET /sync/requests as the family's owner. */
export async function listRequests(t: TestApp, ownerToken: string, query = ''): Promise<RequestSummary[]> {
  return (await request(t.server).get(`/sync/requests${query}`).set(bearer(ownerToken)).expect(200)).body as RequestSummary[];
}

/** POST /sync/requests/:id/replay as the family's owner. */
export async function replay(t: TestApp, ownerToken: string, id: string): Promise<ReplayAnswer> {
  return (await request(t.server).post(`/sync/requests/${id}/replay`).set(bearer(ownerToken)).expect(200)).body as ReplayAnswer;
}

/**
 * PROTOCOL 2.11 determinism: every record of the family replays the same. Returns how many
 * records and changes were replayed, and the differences (none expected).
 */
export async function replayAll(t: TestApp, ownerToken: string): Promise<{ records: number; changes: number; differences: unknown[] }> {
  const records = await listRequests(t, ownerToken, '?limit=500');
  const differences: unknown[] = [];
  let changes = 0;
  for (const r of records) {
    const answer = await replay(t, ownerToken, r.request_id);
    changes += answer.changes.length;
    if (!answer.same) differences.push({ request: r.request_id, changes: answer.changes.filter((c) => !c.same) });
  }
  return { records: records.length, changes, differences };
}
