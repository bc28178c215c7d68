import fc from 'fast-check';
import { Client } from 'pg';
import { FieldPositions, positionsAfter, PositionedRow } from '@app/sync-contract';
import { sqlClient } from '../support/db-state';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * PROTOCOL 2.10, issue 32: the push computes `field_positions` itself (`positionsAfter`) and
 * the trigger then skips its rows. Both must agree on every write, or a patch pull would
 * leave out a field that changed: random rows before and after a write go through the
 * trigger of the migrated schema, and its answer must equal the TypeScript one.
 */
describe('field positions computed by the writer equal the trigger (PROTOCOL 2.10)', () => {
  let t: TestApp;
  let sql: Client;
  beforeAll(async () => {
    t = await startTestApp();
    sql = await sqlClient(t, 'e2e-field-positions');
    // The trigger function as migrated, on two scratch tables: one computes on insert, one on update only
    // (so a "before" row can be stored with any positions, null included).
    await sql.query(`
      CREATE TEMP TABLE fp_insert (id int PRIMARY KEY, data jsonb, changed_us bigint, field_positions jsonb);
      CREATE TRIGGER fp_insert_t BEFORE INSERT ON fp_insert FOR EACH ROW EXECUTE FUNCTION sync_field_positions();
      CREATE TEMP TABLE fp_update (id int PRIMARY KEY, data jsonb, changed_us bigint, field_positions jsonb);
      CREATE TRIGGER fp_update_t BEFORE UPDATE ON fp_update FOR EACH ROW EXECUTE FUNCTION sync_field_positions();`);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const value = fc.oneof(
    fc.constantFrom<unknown>(1, 2, 'x', 'y', '', null, true, false, [], [1, 2], [2, 1], { p: 1 }, { p: 1, q: 2 }, { q: 2, p: 1 }),
    fc.integer({ min: -3, max: 3 }),
  );
  const data = fc.option(fc.dictionary(fc.constantFrom('title', 'desc', 'status', 'due', 'points'), value, { maxKeys: 5 }), {
    nil: null,
    freq: 6,
  });
  const us = fc.integer({ min: 1_000, max: 1_005 });
  const positions = fc.option(fc.dictionary(fc.constantFrom('title', 'desc', 'status', 'due', 'points'), us, { maxKeys: 5 }), {
    nil: null,
  });
  const row = fc.record({ data, changedUs: us, fieldPositions: positions });

  const read = (r: Record<string, unknown>) => (r.field_positions ?? null) as FieldPositions | null;

  it('on insert and on update, for random rows (300 cases)', async () => {
    let id = 0;
    await fc.assert(
      fc.asyncProperty(row, row, async (before: PositionedRow, after: PositionedRow) => {
        id++;
        const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
        const { rows: inserted } = await sql.query('INSERT INTO fp_insert VALUES ($1, $2, $3, NULL) RETURNING field_positions', [
          id,
          json(after.data),
          after.changedUs,
        ]);
        expect(positionsAfter(undefined, after)).toEqual(read(inserted[0]));
        await sql.query('INSERT INTO fp_update VALUES ($1, $2, $3, $4)', [
          id,
          json(before.data),
          before.changedUs,
          json(before.fieldPositions),
        ]);
        const { rows: updated } = await sql.query(
          'UPDATE fp_update SET data = $2, changed_us = $3 WHERE id = $1 RETURNING field_positions',
          [id, json(after.data), after.changedUs],
        );
        expect(positionsAfter(before, after)).toEqual(read(updated[0]));
      }),
      { numRuns: 300 },
    );
  });

  it('the migrated tables run the trigger only for writers that leave the positions alone', async () => {
    const { rows } = await sql.query(
      `SELECT tgname, pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = 'tasks'::regclass AND tgname LIKE 'tasks_field_positions%' ORDER BY tgname`,
    );
    expect(rows.map((r) => r.tgname)).toEqual(['tasks_field_positions_insert', 'tasks_field_positions_update']);
    expect(rows[0].def).toContain('(new.field_positions IS NULL) AND (new.version = 1)');
    expect(rows[1].def).toContain('NOT (new.field_positions IS DISTINCT FROM old.field_positions)');
  });
});
