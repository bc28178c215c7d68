import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Transaction } from '@app/database';
import type { EntityData } from '@app/sync-contract';
import { COMMIT_CHANNEL, CommitNotice } from './commit-notice';
import { uuidLiteral } from './sync-row.mapping';

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

export interface PullQuery {
  familyId: string;
  /** null: first sync (or resync) = the current state without tombstones. */
  sinceUs: number | null;
  limit: number;
  /** `alsoDeleted`: with `sinceUs` null, ids whose tombstones are sent too (see EvaluatedBatch.changedLater). */
  tables: { entityType: string; table: string; excludeIds: string[]; alsoDeleted?: string[] }[];
  /** Set when the transaction wrote something: announced with NOTIFY, delivered on COMMIT only. */
  notice?: CommitNotice;
}

const integer = (n: number) => {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
};

function pullSql(tx: Transaction, familyId: string, query: Omit<PullQuery, 'familyId' | 'notice'>): string {
  const family = uuidLiteral(familyId);
  const limit = integer(query.limit + 1);
  const ids = (list: string[]) => `ARRAY[${list.map((id) => tx.literal(id)).join(',')}]::text[]`;
  const branches = query.tables.map(({ entityType, table, excludeIds, alsoDeleted = [] }) => {
    const live = alsoDeleted.length > 0 ? `(deleted_us IS NULL OR id = ANY(${ids(alsoDeleted)}))` : 'deleted_us IS NULL';
    const where = [`family_id = ${family}`, query.sinceUs === null ? live : `changed_us > ${integer(query.sinceUs)}`];
    if (excludeIds.length > 0) where.push(`id <> ALL(${ids(excludeIds)})`);
    return `(SELECT '${entityType}' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
             FROM ${table} WHERE ${where.join(' AND ')} ORDER BY changed_us LIMIT ${limit})`;
  });
  return `SELECT * FROM (${branches.join(' UNION ALL ')}) AS changed ORDER BY changed_us LIMIT ${limit}`;
}

const toPulledRow = (r: Record<string, unknown>): PulledRow => ({
  entityType: r.entity_type as string,
  id: r.id as string,
  version: r.version as number,
  data: r.data as EntityData | null,
  clientUs: Number(r.client_us),
  createdUs: Number(r.created_us),
  changedUs: Number(r.changed_us),
  deleted: r.deleted_us !== null,
});

/** The SQL of the pull and of a device's resync cursor. */
@Injectable()
export class SyncPullRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Everything of the family changed after `sinceUs`, in commit order: one index range scan
   * per entity table, merged. Reads `limit + 1` rows so the caller knows whether more remain.
   * It is the transaction's last statement, with COMMIT in the same simple-protocol message:
   * one round trip, and the family lock is released with it.
   */
  async pullAndCommit(tx: Transaction, query: PullQuery): Promise<PulledRow[]> {
    const [rows] = await this.pullAllAndCommit(tx, query.familyId, [query], query.notice);
    return rows;
  }

  /**
   * The pulls of a group of requests (one statement each), COMMIT and the commit's
   * announcement, in one simple-protocol message. Values are inlined as literals (numbers
   * checked, the family id a checked uuid, ids escaped by the driver). A statement after a
   * failed one of the message does not run: the NOTIFY goes out only after a successful
   * COMMIT, and needs no round trip of its own.
   */
  async pullAllAndCommit(
    tx: Transaction,
    familyId: string,
    queries: Omit<PullQuery, 'familyId' | 'notice'>[],
    notice?: CommitNotice,
  ): Promise<PulledRow[][]> {
    const statements = queries.map((query) => pullSql(tx, familyId, query));
    // After COMMIT in the same message: it runs only if COMMIT succeeded, in a transaction of
    // its own that writes no WAL. Inside the writing transaction, NOTIFY's database-wide
    // lock would be held across the commit's WAL flush and serialise every family's commits.
    const after = notice && `SELECT pg_notify('${COMMIT_CHANNEL}', ${tx.literal(JSON.stringify(notice))})`;
    const results = await tx.commitAll(statements, after);
    return queries.map((_, i) => results[i].map(toPulledRow));
  }

  /** Where a device's paging through a full state stands, when its pages end below the horizon. */
  async resyncCursor(tx: Transaction, familyId: string, deviceId: string): Promise<number | undefined> {
    const rows = await tx.query('SELECT resync_cursor_us FROM sync_devices WHERE family_id = $1 AND device_id = $2', [familyId, deviceId]);
    return rows[0]?.resync_cursor_us == null ? undefined : Number(rows[0].resync_cursor_us);
  }

  /** After the commit. Saved only while the horizon is the one the page was read under: a purge in between restarts the resync. */
  async setResyncCursor(familyId: string, deviceId: string, cursor: { cursorUs: number; horizonUs: number }): Promise<void> {
    await this.dataSource.query(
      `UPDATE sync_devices SET resync_cursor_us = $3 WHERE family_id = $1 AND device_id = $2
         AND (SELECT horizon_us FROM family_sync_state WHERE family_id = $1) = $4`,
      [familyId, deviceId, cursor.cursorUs, cursor.horizonUs],
    );
  }
}
