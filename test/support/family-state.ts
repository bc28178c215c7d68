import { DataSource } from 'typeorm';
import { TestApp } from './test-app';

/**
 * Everything stored about a family: its row and every row of every table with a `family_id`
 * column (found in the catalog, so a table added later is covered), as sorted JSON text.
 * Equal before and after a request = the request changed nothing of the family.
 */
export async function familyState(t: TestApp, familyId: string): Promise<Record<string, string[]>> {
  const ds = t.app.get(DataSource);
  const tables: { table_name: string }[] = await ds.query(
    `SELECT table_name FROM information_schema.columns
      WHERE column_name = 'family_id' AND table_schema = current_schema() ORDER BY table_name`,
  );
  const state: Record<string, string[]> = {};
  const read = async (name: string, where: string) => {
    const rows: { row: string }[] = await ds.query(`SELECT to_jsonb(t)::text AS row FROM "${name}" t WHERE ${where} = $1 ORDER BY 1`, [
      familyId,
    ]);
    state[name] = rows.map((r) => r.row);
  };
  await read('families', 'id');
  for (const { table_name } of tables) await read(table_name, 'family_id');
  return state;
}

/** Rows of every table: a refused `POST /families` must not add one anywhere. */
export async function rowCounts(t: TestApp): Promise<Record<string, number>> {
  const ds = t.app.get(DataSource);
  const tables: { table_name: string }[] = await ds.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM "${table_name}"`);
    counts[table_name] = n;
  }
  return counts;
}
