import { DataSource } from 'typeorm';
import type { ServerChangeDto as ServerChange, DeltaResponseDto as DeltaBody } from '../../apps/api/src/sync/dto/delta-response.dto';
import { change, ChangeInput, syncOk } from './sync-fixtures';
import { startTestApp, TestApp } from './test-app';

export const TASK_DEFAULTS = { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };
export const EVENT_DEFAULTS = { description: null, end: null, attendees: [] };

/**
 * A protocol suite (sync-protocol*.e2e-spec.ts): its own app (no rate limit), started before
 * the tests and closed after, and the helpers on it. Call it inside the suite's describe.
 */
export function protocolSuite() {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
  });
  afterAll(() => t?.close());

  const sync = (token: string, body: Record<string, unknown>) => syncOk(t, token, body);

  /** Every page a device pulls from `since`, until has_more is false (at most `maxPages`). */
  async function pages(token: string, device: string, since: string | null, limit?: number, maxPages = 20): Promise<DeltaBody[]> {
    const out: DeltaBody[] = [];
    let cursor = since;
    while (out.length < maxPages) {
      const b = await sync(token, { device_id: device, last_sync_at: cursor, ...(limit ? { limit } : {}) });
      out.push(b);
      cursor = b.last_sync_at;
      if (!b.has_more) return out;
    }
    throw new Error(
      `pull did not end after ${maxPages} pages: ${JSON.stringify(out.map((p) => p.server_changes.map((c) => c.entity_id)))}`,
    );
  }

  async function pull(
    token: string,
    device: string,
    since: string | null = null,
  ): Promise<{ changes: ServerChange[]; last_sync_at: string }> {
    const all = await pages(token, device, since);
    return { changes: all.flatMap((p) => p.server_changes), last_sync_at: all[all.length - 1].last_sync_at };
  }

  const ids = (changes: ServerChange[]) => changes.map((c) => c.entity_id);
  const task = (c: ChangeInput) => change({ entity_type: 'task', ...c });
  const event = (c: ChangeInput) => change({ entity_type: 'event', ...c });
  const db = () => t.app.get(DataSource);
  const countRows = async (table: string, familyId: string): Promise<number> =>
    Number((await db().query(`SELECT count(*) AS n FROM ${table} WHERE family_id = $1`, [familyId]))[0].n);

  return { sync, pages, pull, ids, task, event, db, countRows, app: () => t };
}
