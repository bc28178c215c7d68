import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Transaction } from '@app/database';
import { microsToIso } from '@app/sync-contract';
import type { ServerChangeDto } from './dto/delta-response.dto';
import { COMMIT_CHANNEL, CommitNotice } from './commit-notice';
import { RawJsonArray } from './raw-json';
import { uuidLiteral } from './sync-row.mapping';

/**
 * One pull page as PostgreSQL built it: the `server_changes` array (its JSON text as a
 * RawJsonArray, written into the response as it is), how many rows it read (`limit + 1`
 * means more remain) and the last position on the page.
 */
export interface PulledJsonPage {
  serverChanges: ServerChangeDto[];
  /** Rows read, up to `limit + 1`. */
  read: number;
  /** changed_us of the page's last entry (null: empty page). */
  lastUs: number | null;
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

/** A position as a protocol timestamp (`microsToIso`); outside years 1..9999 `#<µs>`, formatted by the service. */
const iso = (column: string) =>
  `CASE WHEN ${column} >= ${MIN_ISO_US} AND ${column} < ${MAX_ISO_US}
     THEN to_char(timestamp 'epoch' + (${column} / 1000000) * interval '1 second' + (${column} % 1000000) * interval '1 microsecond',
                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     ELSE '#' || ${column} END`;
const MIN_ISO_US = '-62135596800000000'; // 0001-01-01
const MAX_ISO_US = '253402300800000000'; // 10000-01-01

/**
 * Everything of the family changed after `sinceUs`, in commit order: one index range scan per
 * entity table, merged, `limit + 1` rows (so the caller knows whether more remain). The page
 * is built by PostgreSQL as the response's JSON text (one text, parsed once by the service;
 * string concatenation: json_build_object cost PostgreSQL twice the time). `data` is jsonb's
 * own text, which the driver would have parsed the same way.
 */
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
  const created = query.sinceUs === null ? 'true' : `created_us > ${integer(query.sinceUs)}`;
  return `WITH p AS (SELECT * FROM (${branches.join(' UNION ALL ')}) AS changed ORDER BY changed_us LIMIT ${limit}),
               k AS (SELECT * FROM p ORDER BY changed_us LIMIT ${integer(query.limit)})
          SELECT (SELECT count(*) FROM p)::int AS read, (SELECT count(*) FROM k)::int AS n, (SELECT max(changed_us) FROM k)::text AS last_us,
                 (SELECT bool_or(NOT (client_us >= ${MIN_ISO_US} AND client_us < ${MAX_ISO_US})) FROM k) AS odd,
                 '[' || coalesce((SELECT string_agg(
                    '{"entity_type":' || to_json(entity_type)::text || ',"entity_id":' || to_json(id)::text ||
                    ',"action":"' || CASE WHEN deleted_us IS NOT NULL THEN 'delete' WHEN ${created} THEN 'create' ELSE 'update' END ||
                    '","data":' || CASE WHEN deleted_us IS NULL THEN data::text ELSE 'null' END || ',"version":' || version ||
                    ',"client_timestamp":"' || ${iso('client_us')} || '","server_timestamp":"' || ${iso('changed_us')} || '"}',
                    ',' ORDER BY changed_us)
                  FROM k), '') || ']' AS page`;
}

function toPage(r: Record<string, unknown>): PulledJsonPage {
  const read = r.read as number;
  const lastUs = r.last_us === null ? null : Number(r.last_us);
  // As PostgreSQL wrote it, unless a timestamp needs the service's formatting (years outside 1..9999).
  if (r.odd !== true)
    return { serverChanges: new RawJsonArray(r.page as string, r.n as number) as unknown as ServerChangeDto[], read, lastUs };
  const serverChanges = JSON.parse(r.page as string) as ServerChangeDto[];
  for (const c of serverChanges) {
    if (c.client_timestamp.charCodeAt(0) === 35) c.client_timestamp = microsToIso(Number(c.client_timestamp.slice(1)));
    if (c.server_timestamp.charCodeAt(0) === 35) c.server_timestamp = microsToIso(Number(c.server_timestamp.slice(1)));
  }
  return { serverChanges, read, lastUs };
}

/** The SQL of the pull and of a device's resync cursor. */
@Injectable()
export class SyncPullRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * One pull (see pullSql). It is the transaction's last statement, with COMMIT in the same simple-protocol message:
   * one round trip, and the family lock is released with it.
   */
  async pullAndCommit(tx: Transaction, query: PullQuery): Promise<PulledJsonPage> {
    const [page] = await this.pullAllAndCommit(tx, query.familyId, [query], query.notice);
    return page;
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
  ): Promise<PulledJsonPage[]> {
    const statements = queries.map((query) => pullSql(tx, familyId, query));
    // After COMMIT in the same message: it runs only if COMMIT succeeded, in a transaction of
    // its own that writes no WAL. Inside the writing transaction, NOTIFY's database-wide
    // lock would be held across the commit's WAL flush and serialise every family's commits.
    const after = notice && `SELECT pg_notify('${COMMIT_CHANNEL}', ${tx.literal(JSON.stringify(notice))})`;
    const results = await tx.commitAll(statements, after);
    return queries.map((_, i) => toPage(results[i][0]));
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
