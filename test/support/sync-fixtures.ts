import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
import type { SyncChangeInput } from '../../apps/api/src/sync/dto/delta-request';
import type { DeltaResponseDto } from '../../apps/api/src/sync/dto/delta-response.dto';
import { TestApp } from './test-app';

export interface FamilyFixture {
  familyId: string;
  /** A token of `userId` scoped to the family. */
  token(userId?: string): string;
  /** Adds a member and returns their token. */
  addMember(userId: string): Promise<string>;
}

/** Creates a family owned by `owner` through the API. */
export async function createFamily(t: TestApp, owner = 'alice', name = 'Family'): Promise<FamilyFixture> {
  const res = await request(t.server)
    .post('/families')
    .set(bearer(mintToken({ sub: owner })))
    .send({ name })
    .expect(201);
  const familyId: string = res.body.id;
  const token = (userId = owner) => mintToken({ sub: userId, familyId });
  return {
    familyId,
    token,
    addMember: async (userId: string) => {
      await request(t.server).post(`/families/${familyId}/members`).set(bearer(token())).send({ userId, role: 'member' }).expect(201);
      return token(userId);
    },
  };
}

/** A wire change with defaults for all but the id (a task create, now). */
export type ChangeInput = Partial<SyncChangeInput> & Pick<SyncChangeInput, 'entity_id'>;

export const change = (c: ChangeInput) => ({
  entity_type: 'task',
  action: 'create',
  client_timestamp: new Date().toISOString(),
  ...c,
});

/** POST /sync/delta; returns the supertest response (status not asserted). */
export function delta(t: TestApp, token: string, body: Record<string, unknown>) {
  return request(t.server)
    .post('/sync/delta')
    .set(bearer(token))
    .send({ device_id: 'device-1', ...body });
}

/** A protocol timestamp: UTC with exactly six fraction digits. */
export const MICRO_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** POST /sync/delta, asserting HTTP 200 and the invariants every response keeps. */
export async function syncOk(t: TestApp, token: string, body: Record<string, unknown>): Promise<DeltaResponseDto> {
  const res = await delta(t, token, body);
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${JSON.stringify(res.body)}`);
  const b = res.body as DeltaResponseDto;
  expect(b.success).toBe(b.conflicts.length === 0 && b.errors.length === 0);
  expect(b.error_count).toBe(b.errors.length);
  expect(b.applied_count).toBe(b.applied.length);
  expect(b.last_sync_at).toMatch(MICRO_ISO);
  expect(typeof b.resync_required).toBe('boolean');
  return b;
}
