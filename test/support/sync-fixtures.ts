import request from 'supertest';
import { bearer, mintToken } from '@app/testing';
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
  const res = await request(t.server).post('/families').set(bearer(mintToken({ sub: owner }))).send({ name }).expect(201);
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

export interface ChangeInput {
  entity_type?: string;
  entity_id: string;
  action?: 'create' | 'update' | 'delete';
  data?: Record<string, unknown>;
  version?: number;
  client_timestamp?: string;
  change_id?: string;
}

export const change = (c: ChangeInput) => ({
  entity_type: 'task',
  action: 'create',
  client_timestamp: new Date().toISOString(),
  ...c,
});

/** POST /sync/delta; returns the supertest response (status not asserted). */
export function delta(t: TestApp, token: string, body: Record<string, unknown>) {
  return request(t.server).post('/sync/delta').set(bearer(token)).send({ device_id: 'device-1', ...body });
}
