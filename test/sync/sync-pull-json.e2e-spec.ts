import { Client } from 'pg';
import { TransactionRunner } from '@app/database';
import { SyncPullRepository } from '../../apps/api/src/sync/pull/sync-pull.repository';
import { sqlClient } from '../support/db-state';
import { PulledRow, referenceServerChange } from '../support/pull-reference';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The pull page is built by PostgreSQL as JSON: it must equal, entry for entry, what the
 * reference mapping (test/support/pull-reference.ts) makes of the same stored rows,
 * including tombstones, create vs update, and timestamps outside the usual range.
 */
describe('pull pages built by PostgreSQL equal the reference mapping', () => {
  let t: TestApp;
  let f: FamilyFixture;
  /** The same rows but the one before year 1: its page is written as PostgreSQL's text. */
  let g: FamilyFixture;
  let sql: Client;

  const US = 1_762_000_000_123_456;
  // [id, client_us, created_us, changed_us, deleted]
  const ROWS: [string, number, number, number, boolean][] = [
    ['j-old-client', -62_135_596_801_000_000, US - 50, US + 1, false], // before year 1: formatted by the service
    ['j-epoch', -1, US - 40, US + 2, false],
    ['j-year-1', -62_135_596_800_000_000, US - 30, US + 3, false],
    ['j-created-after', US - 7, US + 4, US + 4, false],
    ['j-deleted', US - 6, US - 20, US + 5, true],
    ['j-late', Number.MAX_SAFE_INTEGER, US - 10, US + 6, false], // year 2255: the largest exact microsecond count
  ];

  beforeAll(async () => {
    t = await startTestApp();
    f = await createFamily(t, 'jo');
    sql = await sqlClient(t, 'e2e-pull-json');
    g = await createFamily(t, 'gus');
    for (const [family, [id, clientUs, createdUs, changedUs, deleted]] of [
      ...ROWS.map((r) => [f, r] as const),
      ...ROWS.filter((r) => r[0] !== 'j-old-client').map((r) => [g, r] as const),
    ]) {
      await sql.query(
        `INSERT INTO tasks (family_id, id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us)
         VALUES ($1, $2, 3, $3, '{}', $4, $5, $6, $7)`,
        [
          family.familyId,
          id,
          deleted ? null : JSON.stringify({ title: `t ${id}`, n: 1.5, nested: { b: [1, 'x'], a: null } }),
          clientUs,
          createdUs,
          changedUs,
          deleted ? changedUs : null,
        ],
      );
    }
  });

  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  async function reference(familyId: string, sinceUs: number | null): Promise<PulledRow[]> {
    const { rows } = await sql.query(
      `SELECT id, version, data, client_us::text, created_us::text, changed_us::text, deleted_us FROM tasks
       WHERE family_id = $1 AND id LIKE 'j-%' AND ($2::bigint IS NULL AND deleted_us IS NULL OR changed_us > $2::bigint) ORDER BY changed_us`,
      [familyId, sinceUs],
    );
    return rows.map((r) => ({
      entityType: 'task',
      id: r.id,
      version: r.version,
      data: r.data,
      clientUs: Number(r.client_us),
      createdUs: Number(r.created_us),
      changedUs: Number(r.changed_us),
      deleted: r.deleted_us !== null,
    }));
  }

  it.each([
    ['a full state (no watermark)', 'f', null, 1000],
    ['changes after a watermark, with tombstones', 'f', US, 1000],
    ['a page cut by the limit', 'f', US, 2],
    ['a full state written as PostgreSQL text', 'g', null, 1000],
    ['changes after a watermark written as PostgreSQL text', 'g', US, 1000],
    ['a cut page written as PostgreSQL text', 'g', US, 2],
  ])('%s', async (_label, which, sinceUs, limit) => {
    const familyId = (which === 'f' ? f : g).familyId;
    const [page] = await t.app
      .get(TransactionRunner)
      .runWire((tx) =>
        t.app
          .get(SyncPullRepository)
          .pullAllAndCommit(tx, familyId, [
            { sinceUs, limit, maxBytes: 4 * 1024 * 1024, tables: [{ entityType: 'task', table: 'tasks', lane: 0, excludeIds: [] }] },
          ]),
      );
    const rows = await reference(familyId, sinceUs);
    const expected = { server_changes: rows.slice(0, limit).map((row) => referenceServerChange(row, sinceUs)) };
    // The page is JSON text (or, with a timestamp outside years 1..9999, an array): as sent, it parses to the reference.
    expect(JSON.parse(JSON.stringify(page.serverChanges))).toEqual(expected.server_changes);
    expect(page.serverChanges.length).toBe(expected.server_changes.length);
    expect(page.hasMore).toBe(rows.length > limit);
    expect(page.lastUs).toBe(rows.slice(0, limit).at(-1)!.changedUs);
  });
});
