import { DataSource } from 'typeorm';
import type { ServerChangeDto as ServerChange } from '../../apps/api/src/sync/dto/delta-response.dto';
import { change, ChangeInput, createFamily, FamilyFixture, syncOk } from './sync-fixtures';
import { startTestApp, TestApp } from './test-app';

/** A fixed day: field times are compared, so tests choose them. */
export const at = (time: string) => `2025-11-11T${time}Z`;
export const TASK_DEFAULTS = { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };

/**
 * A conflict-rule suite: its own app (no rate limit), started before the tests and closed
 * after, and the helpers on it. Call it inside the suite's describe.
 */
export function ruleSuite() {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => app?.close());
  const t = () => app;
  /** A new family of `owner` on the suite's app. */
  const family = (owner?: string) => createFamily(app, owner);
  const sync = (token: string, body: Record<string, unknown>) => syncOk(t(), token, body);

  /** Everything a device pulls from `since` (paging until has_more is false). */
  async function pull(
    token: string,
    device: string,
    since: string | null = null,
  ): Promise<{ changes: ServerChange[]; last_sync_at: string }> {
    const changes: ServerChange[] = [];
    let cursor = since;
    for (let page = 0; page < 100; page++) {
      const b = await sync(token, { device_id: device, last_sync_at: cursor });
      changes.push(...b.server_changes);
      cursor = b.last_sync_at;
      if (!b.has_more) return { changes, last_sync_at: b.last_sync_at };
    }
    throw new Error('pull did not terminate');
  }

  /** The current server state of one entity, as a fresh device sees it (undefined: absent). */
  async function stateOf(f: FamilyFixture, type: string, id: string): Promise<ServerChange | undefined> {
    const { changes } = await pull(f.token(), `observer-${Math.random()}`);
    return changes.find((c) => c.entity_type === type && c.entity_id === id);
  }

  /** Stored row (tombstones too), read directly from PostgreSQL. */
  async function row(
    table: string,
    familyId: string,
    id: string,
  ): Promise<{ version: number; data: Record<string, unknown> | null; deleted_us: string | null } | undefined> {
    const rows = await t()
      .app.get(DataSource)
      .query(`SELECT version, data, deleted_us FROM ${table} WHERE family_id = $1 AND id = $2`, [familyId, id]);
    return rows[0];
  }

  const task = (c: ChangeInput) => change({ entity_type: 'task', ...c });
  const event = (c: ChangeInput) => change({ entity_type: 'event', ...c });

  /** A family with one task created at `createdAt` (version 1). */
  async function familyWithTask(id: string, data: Record<string, unknown>, createdAt = at('10:00:00')): Promise<FamilyFixture> {
    const f = await createFamily(t());
    const b = await sync(f.token(), { device_id: 'setup', changes: [task({ entity_id: id, data, client_timestamp: createdAt })] });
    expect(b.applied).toEqual([{ entity_type: 'task', entity_id: id, version: 1 }]);
    return f;
  }

  return { sync, pull, stateOf, row, task, event, familyWithTask, family };
}
