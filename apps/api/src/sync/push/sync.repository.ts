import { Injectable } from '@nestjs/common';
import { PreparedSql, textArrayArg, WireTransaction } from '@app/database';
import type { FamilyScope } from '../../family/family-caller';
import { entityKey, FamilyClock, Loaded, LoadPlan, receiptKey, StoredOutcome, StoredRow } from './batch/batch.types';
import type { GroupWrites } from './batch/group-evaluator';
import { ROW_COLUMNS, toClock, toRecord, toRow, upsertSql, uuidLiteral } from '../sync-row.mapping';
import type { DeviceCursor } from '../pull/sync-pull.repository';

/** The row columns of a `loadGroup` answer row that is not an entity row. */
const NO_ROW =
  'NULL::integer AS version, NULL::jsonb AS data, NULL::jsonb AS field_clocks, ' +
  'NULL::bigint AS client_us, NULL::bigint AS created_us, NULL::bigint AS changed_us, NULL::bigint AS deleted_us, ' +
  'NULL::jsonb AS field_positions';

/**
 * A row of `loadGroup`'s answer: `src` -1 a receipt (its change key in `id`), -2 a member
 * (user id in `id`), -3 a `keep_device` policy (PROTOCOL 2.12: entity type in `device_id`,
 * field in `id`), i a row of entity table i.
 */
type LoadedRow = Record<string, unknown> & { src: number; device_id: string | null; outcome: StoredOutcome | null; id: string };

const NOW_US = '(extract(epoch FROM clock_timestamp()) * 1000000)::bigint';

/** The family's sync lock, if one of the users is a member: $1 family, $2 user ids. */
export const LOCK_FAMILY = new PreparedSql(
  'sync_lock_family',
  ['uuid', 'text[]'],
  `SELECT last_us, horizon_us, ${NOW_US} AS now_us
   FROM family_sync_state
   WHERE family_id = $1 AND EXISTS (SELECT 1 FROM family_members WHERE family_id = $1 AND user_id = ANY($2))
   FOR UPDATE`,
);

/**
 * The load of a push (see `loadGroup`) over these entity tables: $1 family, $2/$3 the
 * receipts' device ids and change keys (parallel arrays), $4 user ids, then per table its ids.
 */
export function loadSql(tables: readonly string[]): string {
  const locked = tables.map(
    (table, i) => `t${i} AS (SELECT ${ROW_COLUMNS} FROM ${table} WHERE family_id = $1 AND id = ANY($${i + 5}::text[]) FOR UPDATE)`,
  );
  return `${locked.length > 0 ? `WITH ${locked.join(', ')}` : ''}
       SELECT -1 AS src, k.device_id, r.outcome, k.change_key AS id, ${NO_ROW}
       FROM unnest($2::text[], $3::text[]) AS k(device_id, change_key)
       CROSS JOIN LATERAL (SELECT outcome FROM sync_receipts
                           WHERE family_id = $1 AND device_id = k.device_id AND change_key = k.change_key LIMIT 1) AS r
       UNION ALL SELECT -2, NULL, NULL, user_id, ${NO_ROW} FROM family_members WHERE family_id = $1 AND user_id = ANY($4::text[])
       UNION ALL SELECT -3, entity_type, NULL, field, ${NO_ROW} FROM sync_resolution_policies WHERE family_id = $1 AND rule = 'keep_device'
       ${tables.map((_, i) => `UNION ALL SELECT ${i}, NULL, NULL, ${ROW_COLUMNS} FROM t${i}`).join('\n')}`;
}

/**
 * The write of a push (see `writeGroup`) into these entity tables: $1 family, $2 the new
 * position, $3 device visits, $4 receipts (JSON), then per table its rows (JSON), then the
 * request records (JSON, PROTOCOL 2.11) and the inbox decisions to count (JSON, PROTOCOL 2.12).
 */
export function writeSql(tables: readonly string[]): string {
  const upserts = tables.map((table, i) => `w${i} AS (${upsertSql(table, `$${i + 5}`)})`);
  return `WITH ${[
    ...upserts,
    `position AS (UPDATE family_sync_state SET last_us = $2 WHERE family_id = $1 AND $2::bigint IS NOT NULL)`,
    `device AS (
           INSERT INTO sync_devices (family_id, device_id, user_id, sync_count, last_sync_us, lanes)
           SELECT $1, d."deviceId", d."userId", d.visits, d."lastSyncUs", d.lanes
           FROM jsonb_to_recordset($3::jsonb) AS d("deviceId" text, "userId" text, visits bigint, "lastSyncUs" bigint, lanes jsonb)
           ON CONFLICT (family_id, device_id) DO UPDATE
           SET user_id = EXCLUDED.user_id, last_seen_at = now(), sync_count = sync_devices.sync_count + EXCLUDED.sync_count,
               last_sync_us = EXCLUDED.last_sync_us, lanes = EXCLUDED.lanes)`,
    `decision AS (
           INSERT INTO sync_resolution_decisions (family_id, entity_type, field, decisions, restored)
           SELECT $1, d."entityType", d.field, d.decisions, d.restored
           FROM jsonb_to_recordset($${tables.length + 6}::jsonb) AS d("entityType" text, field text, decisions integer, restored integer)
           ON CONFLICT (family_id, entity_type, field) DO UPDATE
           SET decisions = sync_resolution_decisions.decisions + EXCLUDED.decisions,
               restored = sync_resolution_decisions.restored + EXCLUDED.restored)`,
    `record AS (
           INSERT INTO sync_requests (family_id, id, device_id, user_id, position_before_us, position_us, server_us, atomic, discarded,
                                      max_skew_us, changes, before, outcomes, applied, conflicts, errors)
           SELECT $1, r.id, r."deviceId", r."userId", r."positionBeforeUs", r."positionUs", r."serverUs", r.atomic, r.discarded,
                  r."maxSkewUs", r.changes, r.before, r.outcomes, r.applied, r.conflicts, r.errors
           FROM jsonb_to_recordset($${tables.length + 5}::jsonb) AS r(id uuid, "deviceId" text, "userId" text, "positionBeforeUs" bigint,
                "positionUs" bigint, "serverUs" bigint, atomic boolean, discarded boolean, "maxSkewUs" bigint, changes jsonb, before jsonb,
                outcomes jsonb, applied integer, conflicts integer, errors integer))`,
  ].join(',\n')}
       INSERT INTO sync_receipts (family_id, device_id, change_key, outcome, entity_type, entity_id, action, change_index)
       SELECT $1, r."deviceId", r.key, r.outcome, r."entityType", r."entityId", r.action, r.index
       FROM jsonb_to_recordset($4::jsonb)
            AS r("deviceId" text, key text, outcome jsonb, "entityType" text, "entityId" text, action text, index integer)
       ON CONFLICT DO NOTHING`;
}

/**
 * The SQL of a push, statement by statement on the request's transaction. Set-based: one
 * statement loads receipts and rows, one writes everything.
 */
@Injectable()
export class SyncRepository {
  /**
   * Opens the transaction and takes the family's sync lock for a group of requests, if one of
   * their users is a member (undefined: none is; each request's own membership comes with
   * `loadGroup`). BEGIN travels with the locking read (a prepared statement's EXECUTE) in one
   * simple-protocol message, so both cost one round trip; the family id is a checked uuid and
   * the user ids are escaped as literals. Creates the lock row on the family's first write (the insert races harmlessly:
   * ON CONFLICT DO NOTHING, then the locking read again).
   */
  async lockFamily(tx: WireTransaction, familyId: string, userIds: string[]): Promise<FamilyClock | undefined> {
    const select = await tx.statement(LOCK_FAMILY, [uuidLiteral(familyId), textArrayArg(userIds, (u) => tx.literal(u))]);
    let rows = await tx.begin(select);
    if (rows.length === 0) {
      await tx.query(
        `INSERT INTO family_sync_state (family_id)
         SELECT $1 WHERE EXISTS (SELECT 1 FROM family_members WHERE family_id = $1 AND user_id = ANY($2::text[]))
         ON CONFLICT DO NOTHING`,
        [familyId, userIds],
      );
      rows = await tx.query(select);
    }
    const [row] = rows;
    return row === undefined ? undefined : toClock(row);
  }

  /**
   * The family's clock for a pull without changes, with the membership check, and the
   * device's page cursor (see SyncPullService): the statement's text (values inlined as
   * literals) and how its row reads (undefined: no row, not a member).
   */
  familyClock(
    tx: WireTransaction,
    scope: FamilyScope,
    deviceId: string,
  ): { sql: string; read(row: Record<string, unknown> | undefined): (FamilyClock & { deviceCursor: DeviceCursor | null }) | undefined } {
    return {
      sql: `SELECT coalesce(s.last_us, 0) AS last_us, coalesce(s.horizon_us, 0) AS horizon_us, ${NOW_US} AS now_us,
              (SELECT jsonb_build_object('us', d.resync_cursor_us, 'lanes', d.resync_lanes) FROM sync_devices d
                WHERE d.family_id = m.family_id AND d.device_id = ${tx.literal(deviceId)} AND d.resync_cursor_us IS NOT NULL) AS device_cursor
       FROM family_members m LEFT JOIN family_sync_state s ON s.family_id = m.family_id
       WHERE m.family_id = ${uuidLiteral(scope.familyId)} AND m.user_id = ${tx.literal(scope.userId)}`,
      read: (row) =>
        row === undefined ? undefined : { ...toClock(row), deviceCursor: (row.device_cursor as DeviceCursor | null) ?? null },
    };
  }

  /** Opens the transaction with the family's clock (see `familyClock`), in one round trip with BEGIN. */
  async readFamilyClock(
    tx: WireTransaction,
    scope: FamilyScope,
    deviceId: string,
  ): Promise<(FamilyClock & { deviceCursor: DeviceCursor | null }) | undefined> {
    const clock = this.familyClock(tx, scope, deviceId);
    const [row] = await tx.begin(clock.sql);
    return clock.read(row);
  }

  /**
   * The receipts of the group's (device, change key) pairs, every row it touches (locked) and
   * which of its users are members, in one statement. It runs after the family lock, so its
   * snapshot has every earlier commit. Each receipt is one primary-key probe (LATERAL ...
   * LIMIT 1 keeps it one): a scan of the device's history would grow with its receipts.
   * The answer is plain rows (`src`: -1 a receipt, -2 a member, i the entity table i): they
   * stream while PostgreSQL reads, and 500 of them reached the service in 2.3-2.8 ms against
   * 10-15 ms as one json_agg value (the same CPU in the service either way).
   */
  async loadGroup(tx: WireTransaction, familyId: string, load: LoadPlan, userIds: string[]): Promise<Loaded & { members: Set<string> }> {
    const params: unknown[] = [familyId, load.deviceIds, load.keys, userIds, ...load.entities.map((e) => e.ids)];
    // Planned on every call (not prepared): a generic plan cannot know the arrays' lengths.
    const result: LoadedRow[] = await tx.query(loadSql(load.entities.map((e) => e.table)), params);
    const rows = new Map<string, StoredRow>();
    const receipts = new Map<string, StoredOutcome>();
    const members = new Set<string>();
    const policies = new Map<string, Set<string>>();
    for (const r of result) {
      const entity = load.entities[r.src];
      if (entity) rows.set(entityKey(entity.type, r.id), toRow(r));
      else if (r.src === -1) receipts.set(receiptKey(r.device_id!, r.id), r.outcome!);
      else if (r.src === -3) policies.set(r.device_id!, (policies.get(r.device_id!) ?? new Set()).add(r.id));
      else members.add(r.id);
    }
    return { receipts, rows, members, policies };
  }

  /**
   * Every write of the group in one statement: one multi-row upsert per entity table, the
   * family's new position, each device's visits and every receipt (data-modifying CTEs run
   * once whether referenced or not, and none of them reads another's rows).
   */
  async writeGroup(tx: WireTransaction, familyId: string, writes: GroupWrites): Promise<void> {
    const tables = [...writes.rowsByTable.keys()];
    const params: unknown[] = [
      familyId,
      writes.lastUs,
      JSON.stringify(writes.devices),
      JSON.stringify(writes.receipts),
      ...tables.map((table) => JSON.stringify(writes.rowsByTable.get(table)!.map(toRecord))),
      JSON.stringify(writes.records),
      JSON.stringify(writes.decisions),
    ];
    await tx.queryPrepared(writeSql(tables), params);
  }

  async setFamilyPosition(tx: WireTransaction, familyId: string, lastUs: number): Promise<void> {
    await tx.query('UPDATE family_sync_state SET last_us = $2 WHERE family_id = $1', [familyId, lastUs]);
  }

  /** Rows of one table (locked): what a hook reads. */
  async loadRows(tx: WireTransaction, table: string, familyId: string, ids: string[]): Promise<Map<string, StoredRow>> {
    const rows: Record<string, unknown>[] = await tx.query(
      `SELECT ${ROW_COLUMNS} FROM ${table} WHERE family_id = $1 AND id = ANY($2::text[]) FOR UPDATE`,
      [familyId, ids],
    );
    return new Map(rows.map((r) => [r.id as string, toRow(r)]));
  }

  /** One multi-row upsert (server-computed rows written by hooks). */
  async writeRows(tx: WireTransaction, table: string, familyId: string, rows: StoredRow[]): Promise<void> {
    await tx.query(upsertSql(table, '$2'), [familyId, JSON.stringify(rows.map(toRecord))]);
  }
}
