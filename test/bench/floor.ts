import { Client } from 'pg';
import { since } from './stats';

/** One task row as the floor writes it: the same columns and JSON as the service stores. */
export interface FloorRow {
  id: string;
  version: number;
  data: Record<string, unknown>;
  fieldClocks: Record<string, number>;
  clientUs: number;
}

export interface FloorWrite {
  ms: number;
  /** Rows inserted or updated (0 for a batch whose every version is stale). */
  rowCount: number;
}

export interface FloorRead {
  ms: number;
  rows: number;
  pages: number;
}

const COLUMNS = 'family_id, id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us';

/**
 * The SQL floor: the cheapest statements that do the service's storage work, sent with the
 * pg driver on one connection of the same database.
 *
 * - Writes: one multi-row `INSERT ... ON CONFLICT DO UPDATE` per batch, with the
 *   optimistic-locking check in the `DO UPDATE ... WHERE` (a stale version updates nothing,
 *   the conflict path). No receipts, no lock row, no pull.
 * - Reads: one unpaged `SELECT` of the same rows as a first sync (the floor), and the
 *   keyset-paged `SELECT`s page by page (reported beside it).
 */
export class Floor {
  private position = 0;
  private minimalReady = false;

  constructor(
    readonly client: Client,
    readonly table = 'tasks',
  ) {}

  /** Strictly increasing commit positions (microseconds), like the service's changed_us. */
  private nextPosition(): number {
    this.position = Math.max(Date.now() * 1000, this.position + 1);
    return this.position;
  }

  /** One multi-row INSERT ... VALUES ... ON CONFLICT for the whole batch (autocommit: one transaction). */
  async upsert(familyId: string, rows: FloorRow[]): Promise<FloorWrite> {
    const params: unknown[] = [familyId];
    const tuples: string[] = [];
    for (const row of rows) {
      const position = this.nextPosition();
      const base = params.length;
      params.push(row.id, row.version, JSON.stringify(row.data), JSON.stringify(row.fieldClocks), row.clientUs, position, position);
      tuples.push(`($1, $${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}, $${base + 7}, NULL)`);
    }
    const sql = `INSERT INTO ${this.table} (${COLUMNS}) VALUES ${tuples.join(', ')}
       ON CONFLICT (family_id, id) DO UPDATE SET
         version = EXCLUDED.version, data = EXCLUDED.data, field_clocks = EXCLUDED.field_clocks,
         client_us = EXCLUDED.client_us, changed_us = EXCLUDED.changed_us, deleted_us = EXCLUDED.deleted_us
       WHERE ${this.table}.version = EXCLUDED.version - 1`;
    const started = performance.now();
    const result = await this.client.query(sql, params);
    return { ms: since(started), rowCount: result.rowCount ?? 0 };
  }

  /**
   * The minimal floor (issue 32): what PostgreSQL itself needs to store the same rows, a
   * multi-row `INSERT ... ON CONFLICT` into a table `(family_id, id, version, changed_at, data)`
   * with its primary key and one index, in one transaction. The service's tables carry more
   * (clocks, positions, tombstones, the pull index); this is the floor the targets hold to.
   */
  async upsertMinimal(familyId: string, rows: FloorRow[]): Promise<FloorWrite> {
    if (!this.minimalReady)
      await this.client.query(
        `CREATE TABLE IF NOT EXISTS bench_minimal_floor (family_id uuid NOT NULL, id text NOT NULL, version int NOT NULL,
         changed_at timestamptz NOT NULL, data jsonb NOT NULL, PRIMARY KEY (family_id, id));
       CREATE INDEX IF NOT EXISTS bench_minimal_floor_changed ON bench_minimal_floor (family_id, changed_at)`,
      );
    this.minimalReady = true;
    const params: unknown[] = [familyId];
    const tuples = rows.map((row) => {
      params.push(row.id, row.version, JSON.stringify(row.data));
      const n = params.length;
      return `($1, $${n - 2}, $${n - 1}, clock_timestamp(), $${n})`;
    });
    const sql = `INSERT INTO bench_minimal_floor (family_id, id, version, changed_at, data) VALUES ${tuples.join(', ')}
       ON CONFLICT (family_id, id) DO UPDATE SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at, data = EXCLUDED.data
       WHERE bench_minimal_floor.version = EXCLUDED.version - 1`;
    const started = performance.now();
    const result = await this.client.query(sql, params);
    return { ms: since(started), rowCount: result.rowCount ?? 0 };
  }

  /** A first sync's rows in one unpaged SELECT, in commit order: the floor of a first sync (issue 13). */
  async readAllUnpaged(familyId: string): Promise<FloorRead> {
    const sql = `SELECT 'task' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
                 FROM ${this.table} WHERE family_id = $1 AND deleted_us IS NULL ORDER BY changed_us`;
    const started = performance.now();
    const { rows } = await this.client.query(sql, [familyId]);
    return { ms: since(started), rows: rows.length, pages: 1 };
  }

  /**
   * A first sync's rows: keyset pages of `limit` in commit order, as the service pages them
   * (it reads `limit + 1` rows to know whether more remain).
   */
  async readAll(familyId: string, limit: number): Promise<FloorRead> {
    const sql = `SELECT 'task' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
                 FROM ${this.table} WHERE family_id = $1 AND deleted_us IS NULL AND changed_us > $2
                 ORDER BY changed_us LIMIT $3`;
    const started = performance.now();
    let after = '-1';
    let rows = 0;
    let pages = 0;
    for (;;) {
      const page = await this.client.query(sql, [familyId, after, limit + 1]);
      pages++;
      const kept = Math.min(limit, page.rows.length);
      rows += kept;
      if (page.rows.length <= limit) break;
      after = page.rows[kept - 1].changed_us;
    }
    return { ms: since(started), rows, pages };
  }
}

/** The row of a new task: every field written at the change's time, version 1. */
export function createdRow(id: string, data: Record<string, unknown>, clientUs: number): FloorRow {
  return { id, version: 1, data, fieldClocks: Object.fromEntries(Object.keys(data).map((k) => [k, clientUs])), clientUs };
}

/** The row after a patch on the current version: the patched fields get the change's time. */
export function patchedRow(current: FloorRow, patch: Record<string, unknown>, clientUs: number): FloorRow {
  return {
    id: current.id,
    version: current.version + 1,
    data: { ...current.data, ...patch },
    fieldClocks: { ...current.fieldClocks, ...Object.fromEntries(Object.keys(patch).map((k) => [k, clientUs])) },
    clientUs,
  };
}
