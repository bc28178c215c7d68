import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { TestApp } from './test-app';

/** A client of its own on the suite's database, named so it can be found in pg_stat_activity. */
export async function sqlClient(t: TestApp, applicationName: string): Promise<Client> {
  const client = new Client({ connectionString: t.db.url, application_name: applicationName });
  await client.connect();
  return client;
}

export interface LiveRow {
  version: number;
  data: Record<string, unknown>;
}

/** The family's live tasks and events read straight from the tables, keyed `type:id`. */
export async function liveTasksAndEvents(t: TestApp, familyId: string): Promise<Map<string, LiveRow>> {
  const ds = t.app.get(DataSource);
  const state = new Map<string, LiveRow>();
  for (const [type, table] of [
    ['task', 'tasks'],
    ['event', 'events'],
  ]) {
    const rows: { id: string; version: number; data: Record<string, unknown> }[] = await ds.query(
      `SELECT id, version, data FROM ${table} WHERE family_id = $1 AND deleted_us IS NULL`,
      [familyId],
    );
    for (const r of rows) state.set(`${type}:${r.id}`, { version: r.version, data: r.data });
  }
  return state;
}
