import { Injectable } from '@nestjs/common';
import type { Transaction } from '@app/database';
import type { FamilyScope } from '../family/family-caller';
import { BatchLoad, BatchWrites, entityKey, FamilyClock, LoadedBatch, StoredOutcome, StoredRow } from './batch/batch.types';
import { ROW_COLUMNS, toClock, toRecord, toRow, upsertSql, uuidLiteral } from './sync-row.mapping';

const NOW_US = '(extract(epoch FROM clock_timestamp()) * 1000000)::bigint';

/**
 * The SQL of a push, statement by statement on the request's transaction. Set-based: one
 * statement loads receipts and rows, one writes everything.
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
  async lockFamily(tx: Transaction, scope: FamilyScope): Promise<FamilyClock | undefined> {
    const family = uuidLiteral(scope.familyId);
    const select = `SELECT last_us, horizon_us, ${NOW_US} AS now_us
                    FROM family_sync_state
                    WHERE family_id = ${family}
                      AND EXISTS (SELECT 1 FROM family_members WHERE family_id = ${family} AND user_id = ${tx.literal(scope.userId)})
                    FOR UPDATE`;
    let rows = await tx.begin(select);
    if (rows.length === 0) {
      await tx.query(
        `INSERT INTO family_sync_state (family_id)
         SELECT $1 WHERE EXISTS (SELECT 1 FROM family_members WHERE family_id = $1 AND user_id = $2)
         ON CONFLICT DO NOTHING`,
        [scope.familyId, scope.userId],
      );
      rows = await tx.query(select);
    }
    return rows.length === 0 ? undefined : toClock(rows[0]);
  }

  /**
   * Opens the (REPEATABLE READ) transaction and reads the family's clock without a lock, with
   * the membership check (undefined: not a member), in one round trip as above.
   */
  async readFamilyClock(tx: Transaction, scope: FamilyScope): Promise<FamilyClock | undefined> {
    const rows = await tx.begin(
      `SELECT coalesce(s.last_us, 0) AS last_us, coalesce(s.horizon_us, 0) AS horizon_us, ${NOW_US} AS now_us
       FROM family_members m LEFT JOIN family_sync_state s ON s.family_id = m.family_id
       WHERE m.family_id = ${uuidLiteral(scope.familyId)} AND m.user_id = ${tx.literal(scope.userId)}`,
    );
    return rows.length === 0 ? undefined : toClock(rows[0]);
  }

  /**
   * The receipts of the batch's change keys and every row it touches (locked), in one
   * statement. It runs after the family lock, so its snapshot has every earlier commit.
   */
  async loadBatch(tx: Transaction, req: { scope: FamilyScope; deviceId: string }, load: BatchLoad): Promise<LoadedBatch> {
    const params: unknown[] = [req.scope.familyId, req.deviceId, load.keys];
    const ctes = load.entities.map(({ table, ids }, i) => {
      params.push(ids);
      return `t${i} AS (SELECT ${ROW_COLUMNS} FROM ${table} WHERE family_id = $1 AND id = ANY($${params.length}::text[]) FOR UPDATE)`;
    });
    const [row] = await tx.query(
      `WITH r AS (SELECT change_key, outcome FROM sync_receipts WHERE family_id = $1 AND device_id = $2 AND change_key = ANY($3::text[]))
       ${ctes.map((c) => `, ${c}`).join('')}
       SELECT (SELECT coalesce(json_agg(r), '[]') FROM r) AS receipts
       ${load.entities.map((_, i) => `, (SELECT coalesce(json_agg(t${i}), '[]') FROM t${i}) AS t${i}`).join('')}`,
      params,
    );
    const rows = new Map<string, StoredRow>();
    load.entities.forEach(({ type }, i) => {
      for (const r of row[`t${i}`] as Record<string, unknown>[]) rows.set(entityKey(type, r.id as string), toRow(r));
    });
    const receipts = row.receipts as { change_key: string; outcome: StoredOutcome }[];
    return { receipts: new Map(receipts.map((r) => [r.change_key, r.outcome])), rows };
  }

  /**
   * Every write of the batch in one statement: one multi-row upsert per entity table, the
   * family's new position, the device's last-seen and every receipt (data-modifying CTEs run
   * once whether referenced or not, and none of them reads another's rows).
   */
  async writeBatch(tx: Transaction, req: { scope: FamilyScope; deviceId: string }, writes: BatchWrites): Promise<void> {
    const { familyId, userId } = req.scope;
    const params: unknown[] = [familyId, req.deviceId, writes.lastUs, userId, JSON.stringify(writes.receipts)];
    const upserts = [...writes.rowsByTable].map(([table, rows], i) => {
      params.push(JSON.stringify(rows.map(toRecord)));
      return `w${i} AS (${upsertSql(table, `$${params.length}`)})`;
    });
    await tx.query(
      `WITH ${[
        ...upserts,
        `position AS (UPDATE family_sync_state SET last_us = $3 WHERE family_id = $1 AND $3::bigint IS NOT NULL)`,
        `device AS (
           INSERT INTO sync_devices (family_id, device_id, user_id) VALUES ($1, $2, $4)
           ON CONFLICT (family_id, device_id) DO UPDATE
           SET user_id = EXCLUDED.user_id, last_seen_at = now(), sync_count = sync_devices.sync_count + 1)`,
      ].join(',\n')}
       INSERT INTO sync_receipts (family_id, device_id, change_key, outcome, entity_type, entity_id, action, change_index)
       SELECT $1, $2, r.key, r.outcome, r."entityType", r."entityId", r.action, r.index
       FROM jsonb_to_recordset($5::jsonb) AS r(key text, outcome jsonb, "entityType" text, "entityId" text, action text, index integer)
       ON CONFLICT DO NOTHING`,
      params,
    );
  }

  async setFamilyPosition(tx: Transaction, familyId: string, lastUs: number): Promise<void> {
    await tx.query('UPDATE family_sync_state SET last_us = $2 WHERE family_id = $1', [familyId, lastUs]);
  }

  /** Rows of one table (locked): what a hook reads. */
  async loadRows(tx: Transaction, table: string, familyId: string, ids: string[]): Promise<Map<string, StoredRow>> {
    const rows: Record<string, unknown>[] = await tx.query(
      `SELECT ${ROW_COLUMNS} FROM ${table} WHERE family_id = $1 AND id = ANY($2::text[]) FOR UPDATE`,
      [familyId, ids],
    );
    return new Map(rows.map((r) => [r.id as string, toRow(r)]));
  }

  /** One multi-row upsert (server-computed rows written by hooks). */
  async writeRows(tx: Transaction, table: string, familyId: string, rows: StoredRow[]): Promise<void> {
    await tx.query(upsertSql(table, '$2'), [familyId, JSON.stringify(rows.map(toRecord))]);
  }
}
