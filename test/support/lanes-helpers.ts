import { isDeepStrictEqual } from 'node:util';
import { Client } from 'pg';
import type { DeltaResponseDto } from '../../apps/api/src/sync/dto/delta-response.dto';
import { syncOk } from './sync-fixtures';
import { TestApp } from './test-app';

/** The lane of each type under the default SYNC_TYPE_PRIORITIES (PROTOCOL 2.9). */
export const LANE_OF: Record<string, 0 | 1 | 2> = { task: 0, event: 0, conflict: 1, user_streak: 1, badge: 1, points_ledger: 2 };

/** Every synced table and its entity type. */
export const SYNCED_TABLES: Record<string, string> = {
  tasks: 'task',
  events: 'event',
  conflicts: 'conflict',
  user_streaks: 'user_streak',
  badges: 'badge',
  points_ledger: 'points_ledger',
};

/**
 * Adds `n` points_ledger rows as the service would commit them: under the family's sync
 * lock, each at the next position (last + 1 µs), the family's position moved past them.
 */
export async function seedLedger(sql: Client, familyId: string, n: number, prefix = 'seed'): Promise<void> {
  await sql.query('BEGIN');
  try {
    await sql.query('INSERT INTO family_sync_state (family_id) VALUES ($1) ON CONFLICT DO NOTHING', [familyId]);
    const { rows } = await sql.query<{ last_us: string }>('SELECT last_us FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [
      familyId,
    ]);
    const base = Math.max(Number(rows[0]!.last_us), Date.now() * 1000);
    await sql.query(
      `INSERT INTO points_ledger (family_id, id, version, data, field_clocks, client_us, created_us, changed_us)
       SELECT $1, $2 || '-' || i, 1, jsonb_build_object('userId', 'alice', 'delta', 1, 'reason', 'seed', 'taskId', null), '{}', $3::bigint + i, $3::bigint + i, $3::bigint + i
       FROM generate_series(1, $4::int) AS i`,
      [familyId, prefix, base, n],
    );
    await sql.query('UPDATE family_sync_state SET last_us = $2 WHERE family_id = $1', [familyId, base + n]);
    await sql.query('COMMIT');
  } catch (error) {
    await sql.query('ROLLBACK');
    throw error;
  }
}

/** One row of the family as the tables hold it. */
export interface TableRow {
  key: string;
  changedUs: number;
  deleted: boolean;
  data: unknown;
  version: number;
}

/** Every row (tombstones too) of every synced table of the family, by `type/id`. */
export async function familyRows(sql: Client, familyId: string): Promise<Map<string, TableRow>> {
  const parts = Object.entries(SYNCED_TABLES).map(
    ([table, type]) =>
      `SELECT '${type}/' || id AS key, changed_us::text, deleted_us IS NOT NULL AS deleted, data, version FROM ${table} WHERE family_id = $1`,
  );
  const { rows } = await sql.query<{ key: string; changed_us: string; deleted: boolean; data: unknown; version: number }>(
    parts.join(' UNION ALL '),
    [familyId],
  );
  return new Map(
    rows.map((r) => [r.key, { key: r.key, changedUs: Number(r.changed_us), deleted: r.deleted, data: r.data, version: r.version }]),
  );
}

const us = (iso: string) => {
  const m = /\.(\d{6})Z$/.exec(iso);
  return Date.parse(iso) * 1000 + (m ? Number(m[1]) % 1000 : 0);
};

/** A device that pulls with lanes and keeps a replica, the cursors it stored, and every entry it applied. */
export class LaneDevice {
  lastSyncAt: string | null = null;
  lanes: Record<string, string> = {};
  readonly replica = new Map<string, { data: unknown; version: number; atUs: number }>();
  /** `type/id@server_timestamp` of every applied entry, for the exactly-once check. */
  readonly applied: string[] = [];
  pages = 0;

  constructor(
    readonly id: string,
    private readonly token: string,
    /** Opt in to field-level pulls (PROTOCOL 2.10): patches merge into the replica. */
    private readonly patches = false,
    /** Opt in to lanes (PROTOCOL 2.9); off: commit order and the watermark alone. */
    private readonly withLanes = true,
  ) {}

  /** Patch entries applied (PROTOCOL 2.10). */
  patched = 0;
  /** Answers with resync_required applied. */
  resyncs = 0;

  /** One page; `drop`: the answer is lost (nothing stored). */
  async page(t: TestApp, limit: number, drop = false): Promise<DeltaResponseDto> {
    const body: Record<string, unknown> = { device_id: this.id, last_sync_at: this.lastSyncAt, limit };
    if (this.withLanes) body.lanes = this.lanes;
    if (this.patches) body.patches = true;
    const res = await syncOk(t, this.token, body);
    if (process.env.LANES_DEBUG)
      console.log(
        `${this.id} ${drop ? 'LOST ' : ''}since=${String(body.last_sync_at)} lanes=${JSON.stringify(body.lanes)} -> W=${res.last_sync_at} lanes=${JSON.stringify(res.lanes)} more=${res.has_more} resync=${res.resync_required} ${res.server_changes.map((c) => `${c.entity_type}/${c.entity_id}:${c.action}${c.patch ? 'P' : ''}@${c.server_timestamp.slice(17, 26)}`).join(' ')}`,
      );
    if (drop) return res;
    this.pages++;
    // A resync replaces the replica: exactly once holds again from its first page.
    if (res.resync_required) {
      this.resyncs++;
      this.replica.clear();
      this.applied.length = 0;
    }
    for (const c of res.server_changes) {
      const key = `${c.entity_type}/${c.entity_id}`;
      this.applied.push(`${key}@${c.server_timestamp}`);
      const held = this.replica.get(key);
      if (c.patch && !held) throw new Error(`${this.id}: a patch for ${key}, which it does not hold`);
      if (c.patch) this.patched++;
      if (c.action === 'delete') this.replica.delete(key);
      else
        this.replica.set(key, {
          data: c.patch ? { ...(held!.data as object), ...c.data } : c.data,
          version: c.version,
          atUs: us(c.server_timestamp),
        });
    }
    this.lastSyncAt = res.last_sync_at;
    this.lanes = res.lanes ?? {};
    return res;
  }

  /** Where the device holds every change of `type` (its lane's cursor, else the watermark), in µs. */
  deliveredUs(type: string): number {
    const cursor = this.lanes[String(LANE_OF[type])] ?? this.lastSyncAt;
    return cursor === null ? -Infinity : us(cursor);
  }

  /**
   * The watermark guarantee (PROTOCOL 2.9, 2.10): every row at or below the cursor of its lane
   * is in the replica as it is now, data included (live rows), or absent (tombstones). Rows only move forward, so
   * a row read after the page that is at or below the cursor was so when the page was read.
   */
  missing(rows: Map<string, TableRow>): string[] {
    const missing: string[] = [];
    for (const row of rows.values()) {
      const type = row.key.slice(0, row.key.indexOf('/'));
      if (row.changedUs > this.deliveredUs(type)) continue;
      const held = this.replica.get(row.key);
      const stale = row.deleted ? held !== undefined : held?.atUs !== row.changedUs || !isDeepStrictEqual(held.data, row.data);
      if (stale) missing.push(`${row.key}@${row.changedUs}`);
    }
    return missing;
  }
}
