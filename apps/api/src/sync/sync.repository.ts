import { Injectable } from '@nestjs/common';
import type { PoolClient, QueryResult } from 'pg';
import { QueryRunner } from 'typeorm';
import { EntityData, EntityState, FieldClocks } from '@app/sync-contract';
import type { DeviceDto } from './dto/device.dto';
import { COMMIT_CHANNEL, CommitNotice } from './commit-notice';

/** A row of a synced entity table, with its positions as numbers of microseconds. */
export interface StoredRow extends EntityState {
  id: string;
  clientUs: number;
  createdUs: number;
  changedUs: number;
  deletedUs: number | null;
}

export interface PulledRow {
  entityType: string;
  id: string;
  version: number;
  data: EntityData | null;
  clientUs: number;
  createdUs: number;
  changedUs: number;
  deleted: boolean;
}

export interface FamilyClock {
  /** Commit position of the family's latest change (0: none yet). */
  lastUs: number;
  /** Tombstones up to this position were purged: an older watermark needs a full resync. */
  horizonUs: number;
  /** The database clock when the lock was granted. */
  nowUs: number;
}

/** A QueryRunner or the DataSource (pool): what runs one statement. */
export interface Queryable {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(sql: string, params?: unknown[]): Promise<any>;
}

export interface PullQuery {
  familyId: string;
  /** null: first sync (or resync) = the current state without tombstones. */
  sinceUs: number | null;
  limit: number;
  tables: { entityType: string; table: string; excludeIds: string[] }[];
  /** Set when the transaction wrote something: announced with NOTIFY, delivered on COMMIT. */
  notice?: CommitNotice;
}

const toClock = (r: Record<string, unknown>): FamilyClock => ({
  lastUs: Number(r.last_us),
  horizonUs: Number(r.horizon_us),
  nowUs: Number(r.now_us),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toRecord = (r: StoredRow) => ({
  id: r.id,
  version: r.version,
  data: r.data,
  field_clocks: r.fieldClocks,
  client_us: r.clientUs,
  created_us: r.createdUs,
  changed_us: r.changedUs,
  deleted_us: r.deletedUs,
});

/** `$1` is the family id, `rowsParam` a JSON array of rows. */
const upsertSql = (table: string, rowsParam: string) => `
  INSERT INTO ${table} (family_id, id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us)
  SELECT $1, r.id, r.version, r.data, r.field_clocks, r.client_us, r.created_us, r.changed_us, r.deleted_us
  FROM jsonb_to_recordset(${rowsParam}::jsonb) AS r(id text, version integer, data jsonb, field_clocks jsonb,
       client_us bigint, created_us bigint, changed_us bigint, deleted_us bigint)
  ON CONFLICT (family_id, id) DO UPDATE SET
    version = EXCLUDED.version, data = EXCLUDED.data, field_clocks = EXCLUDED.field_clocks,
    client_us = EXCLUDED.client_us, changed_us = EXCLUDED.changed_us, deleted_us = EXCLUDED.deleted_us`;

const ROW_COLUMNS = 'id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us';

const toRow = (r: Record<string, unknown>): StoredRow => ({
  id: r.id as string,
  version: r.version as number,
  data: r.data as EntityData | null,
  fieldClocks: r.field_clocks as FieldClocks,
  deleted: r.deleted_us !== null,
  clientUs: Number(r.client_us),
  createdUs: Number(r.created_us),
  changedUs: Number(r.changed_us),
  deletedUs: r.deleted_us === null ? null : Number(r.deleted_us),
});

/**
 * The SQL of the sync path. Every method takes the request's QueryRunner: one connection,
 * one transaction, statements one after another. Set-based: one statement per entity type
 * to load, one to write, one for all receipts, one for the pull.
 */
@Injectable()
export class SyncRepository {
  /**
   * Opens the transaction and takes the family's sync lock, checking the caller's membership
   * in the same statement (undefined: not a member). BEGIN travels with the locking read in
   * one simple-protocol message, so both cost one round trip; the family id is a checked
   * uuid and the user id is escaped as a literal. Creates the lock row on the family's first
   * write (the insert races harmlessly: ON CONFLICT DO NOTHING, then the locking read again).
   */
  async beginAndLockFamily(qr: QueryRunner, familyId: string, userId: string): Promise<FamilyClock | undefined> {
    if (!UUID.test(familyId)) throw new Error('family id must be a uuid');
    const client: PoolClient = await qr.connect();
    const select = `SELECT last_us, horizon_us, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us
                    FROM family_sync_state
                    WHERE family_id = '${familyId}'
                      AND EXISTS (SELECT 1 FROM family_members WHERE family_id = '${familyId}' AND user_id = ${client.escapeLiteral(userId)})
                    FOR UPDATE`;
    const [, locked] = (await client.query(`BEGIN ISOLATION LEVEL READ COMMITTED; ${select}`)) as unknown as QueryResult[];
    let rows = locked.rows;
    if (rows.length === 0) {
      await qr.query(
        `INSERT INTO family_sync_state (family_id)
         SELECT $1 WHERE EXISTS (SELECT 1 FROM family_members WHERE family_id = $1 AND user_id = $2)
         ON CONFLICT DO NOTHING`,
        [familyId, userId],
      );
      rows = await qr.query(select);
    }
    return rows.length === 0 ? undefined : toClock(rows[0]);
  }

  /**
   * Opens a REPEATABLE READ transaction and reads the family's clock without a lock, with the
   * membership check (undefined: not a member), in one round trip as above.
   */
  async beginAndReadFamilyClock(qr: QueryRunner, familyId: string, userId: string): Promise<FamilyClock | undefined> {
    if (!UUID.test(familyId)) throw new Error('family id must be a uuid');
    const client: PoolClient = await qr.connect();
    const [, clock] = (await client.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ;
       SELECT coalesce(s.last_us, 0) AS last_us, coalesce(s.horizon_us, 0) AS horizon_us,
              (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us
       FROM family_members m LEFT JOIN family_sync_state s ON s.family_id = m.family_id
       WHERE m.family_id = '${familyId}' AND m.user_id = ${client.escapeLiteral(userId)}`,
    )) as unknown as QueryResult[];
    return clock.rows.length === 0 ? undefined : toClock(clock.rows[0]);
  }

  /**
   * Every write of the batch in one statement: one multi-row upsert per entity table, the
   * family's new position, the device's last-seen and every receipt (data-modifying CTEs run
   * once whether referenced or not, and none of them reads another's rows).
   */
  async writeBatch(
    qr: QueryRunner,
    batch: {
      familyId: string;
      deviceId: string;
      userId: string;
      rowsByTable: Map<string, StoredRow[]>;
      lastUs: number | null;
      receipts: { key: string; outcome: unknown }[];
    },
  ): Promise<void> {
    const params: unknown[] = [batch.familyId, batch.deviceId, batch.lastUs, batch.userId, JSON.stringify(batch.receipts)];
    const upserts = [...batch.rowsByTable].map(([table, rows], i) => {
      params.push(JSON.stringify(rows.map(toRecord)));
      return `w${i} AS (${upsertSql(table, `$${params.length}`)})`;
    });
    await qr.query(
      `WITH ${[...upserts, 
        `position AS (UPDATE family_sync_state SET last_us = $3 WHERE family_id = $1 AND $3::bigint IS NOT NULL)`,
        `device AS (
           INSERT INTO sync_devices (family_id, device_id, user_id) VALUES ($1, $2, $4)
           ON CONFLICT (family_id, device_id) DO UPDATE
           SET user_id = EXCLUDED.user_id, last_seen_at = now(), sync_count = sync_devices.sync_count + 1)`,
      ].join(',\n')}
       INSERT INTO sync_receipts (family_id, device_id, change_key, outcome)
       SELECT $1, $2, r.key, r.outcome FROM jsonb_to_recordset($5::jsonb) AS r(key text, outcome jsonb)
       ON CONFLICT DO NOTHING`,
      params,
    );
  }

  async setFamilyPosition(qr: QueryRunner, familyId: string, lastUs: number): Promise<void> {
    await qr.query('UPDATE family_sync_state SET last_us = $2 WHERE family_id = $1', [familyId, lastUs]);
  }

  /**
   * The receipts of the batch's change keys and every row it touches (locked), in one
   * statement. It runs after the family lock, so its snapshot has every earlier commit.
   */
  async loadBatch(
    qr: QueryRunner,
    familyId: string,
    deviceId: string,
    keys: string[],
    tables: { table: string; ids: string[] }[],
  ): Promise<{ receipts: Map<string, unknown>; rows: Map<string, StoredRow>[] }> {
    const params: unknown[] = [familyId, deviceId, keys];
    const ctes = tables.map(({ table, ids }, i) => {
      params.push(ids);
      return `t${i} AS (SELECT ${ROW_COLUMNS} FROM ${table} WHERE family_id = $1 AND id = ANY($${params.length}::text[]) FOR UPDATE)`;
    });
    const [row] = await qr.query(
      `WITH r AS (SELECT change_key, outcome FROM sync_receipts WHERE family_id = $1 AND device_id = $2 AND change_key = ANY($3::text[]))
       ${ctes.map((c) => `, ${c}`).join('')}
       SELECT (SELECT coalesce(json_agg(r), '[]') FROM r) AS receipts
       ${tables.map((_, i) => `, (SELECT coalesce(json_agg(t${i}), '[]') FROM t${i}) AS t${i}`).join('')}`,
      params,
    );
    return {
      receipts: new Map((row.receipts as { change_key: string; outcome: unknown }[]).map((r) => [r.change_key, r.outcome])),
      rows: tables.map((_, i) => new Map((row[`t${i}`] as Record<string, unknown>[]).map((r) => [r.id as string, toRow(r)]))),
    };
  }

  async loadRows(qr: QueryRunner, table: string, familyId: string, ids: string[]): Promise<Map<string, StoredRow>> {
    const rows: Record<string, unknown>[] = await qr.query(
      `SELECT ${ROW_COLUMNS} FROM ${table} WHERE family_id = $1 AND id = ANY($2::text[]) FOR UPDATE`,
      [familyId, ids],
    );
    return new Map(rows.map((r) => [r.id as string, toRow(r)]));
  }

  /** One multi-row upsert (server-computed rows written by hooks). */
  async writeRows(qr: QueryRunner, table: string, familyId: string, rows: StoredRow[]): Promise<void> {
    await qr.query(upsertSql(table, '$2'), [familyId, JSON.stringify(rows.map(toRecord))]);
  }

  /**
   * Everything of the family changed after `sinceUs`, in commit order: one index range scan
   * per entity table, merged. Reads `limit + 1` rows so the caller knows whether more remain.
   */
  /**
   * The pull as the transaction's last statement, with COMMIT in the same simple-protocol
   * message: one round trip, and the family lock is released with it. Values are inlined as
   * literals (numbers checked, the family id a checked uuid, ids escaped by the driver).
   */
  async pullAndCommit(qr: QueryRunner, query: PullQuery): Promise<PulledRow[]> {
    if (!UUID.test(query.familyId)) throw new Error('family id must be a uuid');
    const client: PoolClient = await qr.connect();
    const integer = (n: number) => {
      if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
      return String(n);
    };
    const limit = integer(query.limit + 1);
    const branches = query.tables.map(({ entityType, table, excludeIds }) => {
      const where = [
        `family_id = '${query.familyId}'`,
        query.sinceUs === null ? 'deleted_us IS NULL' : `changed_us > ${integer(query.sinceUs)}`,
      ];
      if (excludeIds.length > 0) where.push(`id <> ALL(ARRAY[${excludeIds.map((id) => client.escapeLiteral(id)).join(',')}]::text[])`);
      return `(SELECT '${entityType}' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
               FROM ${table} WHERE ${where.join(' AND ')} ORDER BY changed_us LIMIT ${limit})`;
    });
    const select = `SELECT * FROM (${branches.join(' UNION ALL ')}) AS changed ORDER BY changed_us LIMIT ${limit}`;
    // The commit's announcement rides in the same message (no round trip of its own); a
    // NOTIFY is delivered only if and after the COMMIT succeeds.
    const notify = query.notice ? `SELECT pg_notify('${COMMIT_CHANNEL}', ${client.escapeLiteral(JSON.stringify(query.notice))}); ` : '';
    const results = (await client.query(`${notify}${select}; COMMIT`)) as unknown as QueryResult[];
    const result = results[notify ? 1 : 0];
    return (result.rows as Record<string, unknown>[]).map((r) => ({
      entityType: r.entity_type as string,
      id: r.id as string,
      version: r.version as number,
      data: r.data as EntityData | null,
      clientUs: Number(r.client_us),
      createdUs: Number(r.created_us),
      changedUs: Number(r.changed_us),
      deleted: r.deleted_us !== null,
    }));
  }

  /** Per-device last-seen and sync count (GET /sync/devices); on the request's connection or the pool. */
  async touchDevice(qr: Queryable, familyId: string, deviceId: string, userId: string): Promise<void> {
    // Only for a member: this runs beside the membership check of a pull, not after it.
    await qr.query(
      `INSERT INTO sync_devices (family_id, device_id, user_id)
       SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM family_members WHERE family_id = $1 AND user_id = $3)
       ON CONFLICT (family_id, device_id) DO UPDATE
       SET user_id = EXCLUDED.user_id, last_seen_at = now(), sync_count = sync_devices.sync_count + 1`,
      [familyId, deviceId, userId],
    );
  }

  /** Where a device's paging through a full state stands, when its pages end below the horizon. */
  async resyncCursor(qr: Queryable, familyId: string, deviceId: string): Promise<number | undefined> {
    const rows = await qr.query('SELECT resync_cursor_us FROM sync_devices WHERE family_id = $1 AND device_id = $2', [familyId, deviceId]);
    return rows[0]?.resync_cursor_us == null ? undefined : Number(rows[0].resync_cursor_us);
  }

  /** Saved only while the horizon is the one the page was read under: a purge in between restarts the resync. */
  async setResyncCursor(qr: Queryable, familyId: string, deviceId: string, cursorUs: number, horizonUs: number): Promise<void> {
    await qr.query(
      `UPDATE sync_devices SET resync_cursor_us = $3 WHERE family_id = $1 AND device_id = $2
         AND (SELECT horizon_us FROM family_sync_state WHERE family_id = $1) = $4`,
      [familyId, deviceId, cursorUs, horizonUs],
    );
  }

  async devices(familyId: string, qr: Queryable): Promise<DeviceDto[]> {
    return qr.query(
      `SELECT device_id, user_id, sync_count::int AS sync_count,
              to_char(first_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS first_seen_at,
              to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_seen_at
       FROM sync_devices WHERE family_id = $1 ORDER BY last_seen_at DESC`,
      [familyId],
    );
  }
}
