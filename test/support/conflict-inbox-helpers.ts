import { Client } from 'pg';
import type { ServerChangeDto } from '../../apps/api/src/sync/dto/delta-response.dto';
import { sqlClient } from './db-state';
import { change, ChangeInput, createFamily, FamilyFixture, syncOk } from './sync-fixtures';
import { startTestApp, TestApp } from './test-app';

/**
 * A conflict-inbox suite (conflict-inbox-*.e2e-spec.ts, PROTOCOL 2.8): its own app and a SQL
 * client on its database, started before the tests and closed after, and the helpers on them.
 * Call it inside the suite's describe.
 */
export function inboxSuite() {
  let t: TestApp;
  let sql: Client;

  beforeAll(async () => {
    t = await startTestApp();
    sql = await sqlClient(t, 'e2e-inbox');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const at = (hms: string) => `2025-11-11T${hms}Z`;
  const task = (c: ChangeInput) => change({ entity_type: 'task', ...c });
  const inboxRows = async (familyId: string) =>
    (
      await sql.query<{ id: string; data: Record<string, unknown> | null; deleted: boolean }>(
        'SELECT id, data, deleted_us IS NOT NULL AS deleted FROM conflicts WHERE family_id = $1 ORDER BY changed_us',
        [familyId],
      )
    ).rows;
  /** Everything a fresh device (or one at `since`) pulls, following has_more. */
  async function pull(
    f: FamilyFixture,
    device: string,
    since: string | null = null,
  ): Promise<{ changes: ServerChangeDto[]; last: string }> {
    const changes: ServerChangeDto[] = [];
    for (let cursor = since; ;) {
      const page = await syncOk(t, f.token(), { device_id: device, last_sync_at: cursor });
      changes.push(...page.server_changes);
      cursor = page.last_sync_at;
      if (!page.has_more) return { changes, last: page.last_sync_at };
    }
  }
  const inboxOf = (changes: ServerChangeDto[]) => changes.filter((c) => c.entity_type === 'conflict');

  /** A family with task t1 at version 2 (title changed by device a) and device b's stale view. */
  async function staleFamily(): Promise<{ f: FamilyFixture; bobToken: string }> {
    const f = await createFamily(t, 'alice');
    const bobToken = await f.addMember('bob');
    await syncOk(t, f.token(), {
      device_id: 'a',
      changes: [task({ entity_id: 't1', data: { title: 'first' }, client_timestamp: at('09:00:00') })],
    });
    await syncOk(t, f.token(), {
      device_id: 'a',
      changes: [task({ entity_id: 't1', action: 'update', version: 1, data: { title: 'kept' }, client_timestamp: at('12:00:00') })],
    });
    return { f, bobToken };
  }

  /** An update of t1 from the stale version 1 whose title loses to device a's later one. */
  const staleTitle = (title = 'mine', time = '11:00:00') =>
    task({ entity_id: 't1', action: 'update', version: 1, data: { title }, client_timestamp: at(time) });

  const app = () => t;
  const sqlOf = () => sql;
  return { app, sql: sqlOf, at, task, inboxRows, pull, inboxOf, staleFamily, staleTitle };
}
