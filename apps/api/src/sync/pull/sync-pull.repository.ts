import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { integerArg, PreparedSql, shapeName, textArrayArg, WireTransaction } from '@app/database';
import { MAX_ISO_US, microsToIso, MIN_ISO_US } from '@app/sync-contract';
import type { ServerChangeDto } from '../dto/delta-response.dto';
import { COMMIT_CHANNEL, CommitNotice } from './commit-notice';
import { RawJsonArray } from './raw-json';
import { uuidLiteral } from '../sync-row.mapping';
import { zip } from '../zip';

/**
 * One pull page as PostgreSQL built it: the `server_changes` array (its entries' JSON texts
 * joined, as a RawJsonArray written into the response as it is), whether more remain (the
 * count or the byte limit cut it) and the last position on the page.
 */
export interface PulledJsonPage {
  serverChanges: ServerChangeDto[];
  hasMore: boolean;
  /** changed_us of the page's last entry (null: empty page). */
  lastUs: number | null;
}

export interface PullQuery {
  familyId: string;
  /** The page's `server_changes` JSON stays under this many bytes (one larger entry goes alone). */
  maxBytes: number;
  /** null: first sync (or resync) = the current state without tombstones. */
  sinceUs: number | null;
  limit: number;
  /** `alsoDeleted`: with `sinceUs` null, ids whose tombstones are sent too (see EvaluatedBatch.changedLater). */
  tables: { entityType: string; table: string; excludeIds: string[]; alsoDeleted?: string[] }[];
  /** Set when the transaction wrote something: announced with NOTIFY, delivered on COMMIT only. */
  notice?: CommitNotice;
}

/** A position as a protocol timestamp (`microsToIso`); outside years 1..9999 `#<µs>`, formatted by the service. */
const iso = (column: string) =>
  `CASE WHEN ${column} >= ${MIN_ISO_US} AND ${column} < ${MAX_ISO_US}
     THEN to_char(timestamp 'epoch' + (${column} / 1000000) * interval '1 second' + (${column} % 1000000) * interval '1 microsecond',
                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     ELSE '#' || ${column} END`;

/**
 * Id lists longer than this go inline instead of to the prepared pull: PostgreSQL looks a
 * constant array up by hash for `<> ALL`, a parameter of a generic plan linearly (500 ids
 * over 500 rows: 3 ms instead of 0.3). Up to here a linear scan costs less than planning.
 */
const PREPARED_ID_LIST_MAX = 128;

export interface PullTable {
  entityType: string;
  table: string;
}

/**
 * The pull as two prepared statements (see PreparedSql), one per mode, over the registry's
 * tables: everything of the family changed after `since`, in commit order (one index range
 * scan per entity table, merged, `limit + 1` rows so the caller knows whether more remain),
 * or the current state for a first sync. Each entry is built by PostgreSQL as its JSON text
 * (string concatenation: json_build_object cost PostgreSQL twice the time; `data` is jsonb's
 * own text), one row per entry: PostgreSQL streams the rows while it reads, the service
 * joins their texts into the page and never parses them. One aggregated text of the page
 * instead took 2-4x as long from the query to the service (a 1,000-entry page of ~500 KB:
 * 13-20 ms against 3.5-8 ms), since nothing of it travels before the last row is read.
 *
 * The page also ends before its JSON would pass `maxBytes` (PROTOCOL 2.13), counted in
 * PostgreSQL over the entries' own texts: a running sum in commit order keeps the entries
 * that fit (always the first: one entity larger than the limit goes alone) and sends one
 * more row without its text, which says that more remain. Rows past that are built and
 * dropped inside PostgreSQL; nothing over the limit crosses the wire or sits in the service.
 *
 * Parameters: $1 family, $2 since (incremental only), then limit + 1, then per
 * table the ids not to echo (text[]) and, for a first sync, the deleted ids whose tombstones
 * are sent anyway (text[]). The byte limit is part of the text (configuration, not input). Planned once per connection instead of once per pull (a 6-table
 * UNION took PostgreSQL longer to plan than to run).
 */
export function pullStatement(tables: readonly PullTable[], mode: 'since' | 'state', maxBytes: number): PreparedSql {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new Error(`pull byte limit must be a positive integer, got ${maxBytes}`);
  const types = mode === 'since' ? ['uuid', 'bigint', 'integer'] : ['uuid', 'integer'];
  const param = (type: string) => `$${types.push(type)}`;
  const readLimit = mode === 'since' ? '$3' : '$2';
  const branches = tables.map(({ entityType, table }) => {
    const exclude = param('text[]');
    const where = mode === 'since' ? `changed_us > $2` : `(deleted_us IS NULL OR id = ANY(${param('text[]')}))`;
    return `(SELECT '${entityType}' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
             FROM ${table} WHERE family_id = $1 AND ${where} AND id <> ALL(${exclude}) ORDER BY changed_us LIMIT ${readLimit})`;
  });
  const created = mode === 'since' ? 'created_us > $2' : 'true';
  // `total`: the page's bytes up to this entry ('[' and a comma or ']' each): it fits while under maxBytes.
  // `s.changed_us` orders by the position itself (the bare name would be the text output
  // column): rows arrive in that order from the index, so PostgreSQL sorts nothing.
  const text = `SELECT changed_us::text AS changed_us, odd, CASE WHEN n = 1 OR total <= ${maxBytes} THEN entry END AS entry
          FROM (SELECT changed_us, odd, entry, row_number() OVER w AS n, 1 + sum(octet_length(entry) + 1) OVER w AS total
                FROM (SELECT changed_us, NOT (client_us >= ${MIN_ISO_US} AND client_us < ${MAX_ISO_US}) AS odd,
                 '{"entity_type":' || to_json(entity_type)::text || ',"entity_id":' || to_json(id)::text ||
                 ',"action":"' || CASE WHEN deleted_us IS NOT NULL THEN 'delete' WHEN ${created} THEN 'create' ELSE 'update' END ||
                 '","data":' || CASE WHEN deleted_us IS NULL THEN data::text ELSE 'null' END || ',"version":' || version ||
                 ',"client_timestamp":"' || ${iso('client_us')} || '","server_timestamp":"' || ${iso('changed_us')} || '"}' AS entry
                  FROM (SELECT * FROM (${branches.join(' UNION ALL ')}) AS changed ORDER BY changed_us LIMIT ${readLimit}) AS p) AS e
                WINDOW w AS (ORDER BY changed_us ROWS UNBOUNDED PRECEDING)) AS s
          WHERE n <= 2 OR total - octet_length(entry) - 1 <= ${maxBytes}
          ORDER BY s.changed_us`;
  return new PreparedSql(shapeName(`sync_pull_${mode}`, text), types, text);
}

/** The arguments of `pullStatement(tables, mode)` for one pull. */
export function pullArgs(familyId: string, query: PullArgsQuery, literal: (value: string) => string): string[] {
  const ids = (list: readonly string[] = []) => textArrayArg(list, literal);
  const head = [uuidLiteral(familyId)];
  if (query.sinceUs !== null) head.push(integerArg(query.sinceUs));
  head.push(integerArg(query.limit + 1));
  for (const t of query.tables) {
    head.push(ids(t.excludeIds));
    if (query.sinceUs === null) head.push(ids(t.alsoDeleted));
  }
  return head;
}

type PullArgsQuery = Omit<PullQuery, 'familyId' | 'notice'>;

/**
 * A page from the pull's rows (up to `limit + 1`, in commit order; a row without its text
 * is where the byte limit cut): the first `limit` entries' texts joined as the array.
 */
function toPage(rows: PulledEntryRow[], limit: number): PulledJsonPage {
  const fitting = rows[rows.length - 1]?.entry === null ? rows.slice(0, -1) : rows;
  const kept = fitting.length > limit ? fitting.slice(0, limit) : fitting;
  const hasMore = rows.length > kept.length;
  const last = kept.at(-1);
  const lastUs = last === undefined ? null : Number(last.changed_us);
  const json = `[${kept.map((r) => r.entry).join(',')}]`;
  // As PostgreSQL wrote it, unless a timestamp needs the service's formatting (years outside 1..9999).
  if (!kept.some((r) => r.odd))
    return { serverChanges: new RawJsonArray(json, kept.length) as unknown as ServerChangeDto[], hasMore, lastUs };
  const serverChanges = JSON.parse(json) as ServerChangeDto[];
  for (const c of serverChanges) {
    if (c.client_timestamp.charCodeAt(0) === 35) c.client_timestamp = microsToIso(Number(c.client_timestamp.slice(1)));
    if (c.server_timestamp.charCodeAt(0) === 35) c.server_timestamp = microsToIso(Number(c.server_timestamp.slice(1)));
  }
  return { serverChanges, hasMore, lastUs };
}

/** A row of the pull: one entry's JSON text, its position, whether a timestamp of it is outside years 1..9999. */
interface PulledEntryRow {
  changed_us: string;
  odd: boolean;
  /** null: the row after the last one that fits the byte limit. */
  entry: string | null;
}

/** The SQL of the pull and of a device's resync cursor. */
@Injectable()
export class SyncPullRepository {
  private readonly statements = new Map<string, PreparedSql>();

  constructor(private readonly dataSource: DataSource) {}

  /** The prepared pull for this query's tables and mode (built once per table list). */
  private statementFor(query: PullArgsQuery): PreparedSql {
    const mode = query.sinceUs === null ? 'state' : 'since';
    const key = `${mode}:${query.maxBytes}:${query.tables.map((t) => `${t.entityType}=${t.table}`).join(',')}`;
    let statement = this.statements.get(key);
    if (!statement) this.statements.set(key, (statement = pullStatement(query.tables, mode, query.maxBytes)));
    return statement;
  }

  /**
   * The pulls of a group of requests (one statement each), COMMIT and the commit's
   * announcement, in one simple-protocol message. Values are inlined as literals (numbers
   * checked, the family id a checked uuid, ids escaped by the driver). A statement after a
   * failed one of the message does not run: the NOTIFY goes out only after a successful
   * COMMIT, and needs no round trip of its own.
   */
  async pullAllAndCommit(
    tx: WireTransaction,
    familyId: string,
    queries: Omit<PullQuery, 'familyId' | 'notice'>[],
    notice?: CommitNotice,
  ): Promise<PulledJsonPage[]> {
    const statements: string[] = [];
    for (const query of queries) {
      const statement = this.statementFor(query);
      const args = pullArgs(familyId, query, (v) => tx.literal(v));
      // One after another: the first call on a connection prepares the statement.
      const short = query.tables.every(
        (t) => t.excludeIds.length <= PREPARED_ID_LIST_MAX && (t.alsoDeleted?.length ?? 0) <= PREPARED_ID_LIST_MAX,
      );
      statements.push(short ? await tx.statement(statement, args) : statement.inlineText(args));
    }
    // After COMMIT in the same message: it runs only if COMMIT succeeded, in a transaction of
    // its own that writes no WAL. Inside the writing transaction, NOTIFY's database-wide
    // lock would be held across the commit's WAL flush and serialise every family's commits.
    const after = notice && `SELECT pg_notify('${COMMIT_CHANNEL}', ${tx.literal(JSON.stringify(notice))})`;
    const results = await tx.commitAll<PulledEntryRow>(statements, after);
    return zip(queries, results).map(([query, rows]) => toPage(rows, query.limit));
  }

  /** Where a device's paging through a full state stands, when its pages end below the horizon. */
  async resyncCursor(tx: WireTransaction, familyId: string, deviceId: string): Promise<number | undefined> {
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
