import { mintToken } from '@app/testing';
import { TASK_DEFAULTS } from '../../apps/api/src/task/dto/task-data.dto';
import { expectStatus, HttpClient, HttpResult } from './http';

/** The HS256 secret the bench service is started with (fixed: the bench mints its own tokens). */
export const BENCH_JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789';

export type TaskData = Record<string, unknown>;

const DESC = 'Buy milk, eggs, bread and coffee at the corner shop; pick up the parcel at the post office on the way back.';

/** `data` of a task create, as a client sends it (a realistic ~300 byte task). */
export function createData(id: string): TaskData {
  return {
    title: `Task ${id}: groceries and errands`,
    desc: DESC,
    status: 'open',
    assignees: ['alice', 'bob'],
    due: '2026-01-15T10:00:00.000Z',
    points: 10,
  };
}

/** `data` of an update (a partial patch of two fields). */
export function updatePatch(id: string, rev: number): TaskData {
  return { title: `Task ${id}: groceries and errands (rev ${rev})`, status: rev % 2 ? 'in_progress' : 'open' };
}

/** A patch that loses every field on a stale version: the client's time is older than the server's. */
export function stalePatch(id: string, iteration: number): TaskData {
  return { title: `Task ${id}: stale edit ${iteration}`, status: 'in_progress' };
}

/** The task's full state as the service stores it after a create (defaults filled in). */
export const storedAfterCreate = (id: string): TaskData => ({ ...TASK_DEFAULTS, ...createData(id) });

export interface WireChange {
  entity_type: string;
  entity_id: string;
  action: 'create' | 'update' | 'delete';
  data?: TaskData;
  version?: number;
  client_timestamp: string;
}

export interface DeltaResponse {
  server_changes: { entity_type: string; entity_id: string; action: string; version: number; data: unknown }[];
  applied: { entity_type: string; entity_id: string; version: number }[];
  conflicts: { entity_type: string; entity_id: string; resolution: string; server_version: number | null }[];
  errors: { index: number; code: string; message: string }[];
  last_sync_at: string;
  has_more: boolean;
  success: boolean;
  applied_count: number;
  error_count: number;
}

export interface BenchFamily {
  familyId: string;
  ownerId: string;
  token(userId?: string): string;
  addMember(userId: string): Promise<string>;
}

const sign = (claims: { sub: string; familyId?: string }) => mintToken(claims, { expiresIn: '6h' }, BENCH_JWT_SECRET);

/** Creates a family through the API (POST /families with a token holding only `sub`). */
export async function createFamily(http: HttpClient, ownerId: string, name: string): Promise<BenchFamily> {
  const res = expectStatus(await http.post<{ id: string }>('/families', { name }, sign({ sub: ownerId })), 201, 'POST /families');
  const familyId = res.body.id;
  const token = (userId = ownerId) => sign({ sub: userId, familyId });
  return {
    familyId,
    ownerId,
    token,
    addMember: async (userId: string) => {
      expectStatus(
        await http.post(`/families/${familyId}/members`, { userId, role: 'member' }, token()),
        201,
        `POST /families/${familyId}/members`,
      );
      return token(userId);
    },
  };
}

/**
 * One client device: pushes with the watermark of its previous response, as a real client
 * does, so a push answers only with what others changed (here: nothing).
 */
export class Device {
  watermark: string | null = null;

  constructor(
    readonly http: HttpClient,
    readonly deviceId: string,
    readonly token: string,
  ) {}

  async delta(
    changes: WireChange[],
    options: { lastSyncAt?: string | null; limit?: number; lanes?: Record<string, string>; patches?: boolean } = {},
  ): Promise<HttpResult<DeltaResponse>> {
    const body: Record<string, unknown> = {
      device_id: this.deviceId,
      last_sync_at: options.lastSyncAt !== undefined ? options.lastSyncAt : this.watermark,
      changes,
    };
    if (options.limit !== undefined) body.limit = options.limit;
    if (options.lanes !== undefined) body.lanes = options.lanes;
    if (options.patches !== undefined) body.patches = options.patches;
    const res = await this.http.post<DeltaResponse>('/sync/delta', body, this.token);
    // With has_more the returned watermark is the last row sent: the next call continues from it.
    if (res.status === 200) this.watermark = res.body.last_sync_at;
    return res;
  }

  /** Pushes and insists that every change was applied (no conflict, no error). */
  async pushApplied(changes: WireChange[], what: string): Promise<HttpResult<DeltaResponse>> {
    const res = expectStatus(await this.delta(changes), 200, what);
    const b = res.body;
    if (b.applied_count !== changes.length || b.conflicts.length > 0 || b.errors.length > 0) {
      throw new Error(
        `${what}: expected ${changes.length} applied, got ${b.applied_count} applied, ${b.conflicts.length} conflicts, ` +
          `${b.errors.length} errors ${JSON.stringify(b.errors.slice(0, 2))}`,
      );
    }
    return res;
  }
}

export const taskCreate = (id: string, at = new Date().toISOString()): WireChange => ({
  entity_type: 'task',
  entity_id: id,
  action: 'create',
  data: createData(id),
  version: 0,
  client_timestamp: at,
});

export const taskUpdate = (id: string, version: number, data: TaskData, at = new Date().toISOString()): WireChange => ({
  entity_type: 'task',
  entity_id: id,
  action: 'update',
  data,
  version,
  client_timestamp: at,
});

export const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
