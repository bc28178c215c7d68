import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PreparedSql, WireTransaction } from '@app/database';
import { Lane, LANES, microsToIso } from '@app/sync-contract';
import type { ServerChangeDto } from '../dto/delta-response.dto';
import { COMMIT_CHANNEL, CommitNotice } from './commit-notice';
import { lanePullStatement, PREPARED_ID_LIST_MAX, pullArgs, PullArgsQuery, pullStatement } from './pull-statements';
import type { LaneEdge } from './lanes';
import { RawJsonArray } from './raw-json';
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
  /** A pull with lanes: where each lane's delivery stands after the page. */
  lanes?: Record<Lane, LaneEdge>;
}

/** One pull: its arguments, and the byte bound of its page (configuration: part of the statement's text). */
export interface PullQuery extends PullArgsQuery {
  /** The page's `server_changes` JSON stays under this many bytes (one larger entry goes alone). */
  maxBytes: number;
}

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
  return { serverChanges: entriesOf(kept), hasMore, lastUs };
}

/**
 * A page of a pull with lanes (`lanePullStatement`): its rows with a text are the page; the
 * first row without text of a lane is its first change still to come.
 */
function toLanePage(rows: PulledLaneRow[]): PulledJsonPage {
  const lanes = { 0: { lastUs: null, nextUs: null }, 1: { lastUs: null, nextUs: null }, 2: { lastUs: null, nextUs: null } } as Record<
    Lane,
    LaneEdge
  >;
  const kept: PulledLaneRow[][] = [[], [], []];
  for (const row of rows) {
    const edge = lanes[row.lane];
    const us = Number(row.changed_us);
    // Rows come in fill order, each lane's in commit order: its first row without text is its next change.
    if (row.entry === null) edge.nextUs ??= us;
    else {
      kept[row.lane]!.push(row);
      edge.lastUs = us;
    }
  }
  const hasMore = LANES.some((lane) => lanes[lane].nextUs !== null);
  // The page lists lane 0 first, each lane in commit order.
  return { serverChanges: entriesOf(kept.flat()), hasMore, lastUs: null, lanes };
}

/** The entries' texts joined as the `server_changes` array. */
function entriesOf(kept: PulledEntryRow[]): ServerChangeDto[] {
  const json = `[${kept.map((r) => r.entry).join(',')}]`;
  // As PostgreSQL wrote it, unless a timestamp needs the service's formatting (years outside 1..9999).
  if (!kept.some((r) => r.odd)) return new RawJsonArray(json, kept.length) as unknown as ServerChangeDto[];
  const serverChanges = JSON.parse(json) as ServerChangeDto[];
  for (const c of serverChanges) {
    if (c.client_timestamp.charCodeAt(0) === 35) c.client_timestamp = microsToIso(Number(c.client_timestamp.slice(1)));
    if (c.server_timestamp.charCodeAt(0) === 35) c.server_timestamp = microsToIso(Number(c.server_timestamp.slice(1)));
  }
  return serverChanges;
}

/** A row of the pull: one entry's JSON text, its position, whether a timestamp of it is outside years 1..9999. */
interface PulledEntryRow {
  changed_us: string;
  odd: boolean;
  /** null: the row after the last one that fits the byte limit. */
  entry: string | null;
}

interface PulledLaneRow extends PulledEntryRow {
  lane: Lane;
}

/** A device's page cursor: the watermark and the lane cursors (`laneKey`) of its last cut page. */
export interface DeviceCursor {
  us: number;
  lanes: string;
}

/** `backlog` counts stop here (PROTOCOL 2.9: "10000 means at least"). */
export const BACKLOG_CAP = 10_000;

/** The SQL of the pull and of a device's resync cursor. */
@Injectable()
export class SyncPullRepository {
  private readonly statements = new Map<string, PreparedSql>();

  constructor(private readonly dataSource: DataSource) {}

  /** The prepared pull for this query's tables and mode (built once per table list). */
  private statementFor(query: PullQuery): PreparedSql {
    const mode = query.sinceUs === null ? 'state' : 'since';
    const tables = query.tables.map((t) => `${t.entityType}=${t.table}${query.lanes ? `@${t.lane}` : ''}`).join(',');
    const key = `${query.lanes ? 'lanes:' : ''}${query.patches ? 'patches:' : ''}${mode}:${query.maxBytes}:${tables}`;
    let statement = this.statements.get(key);
    const build = query.lanes ? lanePullStatement : pullStatement;
    if (!statement) this.statements.set(key, (statement = build(query.tables, mode, query.maxBytes, query.patches)));
    return statement;
  }

  /**
   * The pulls of a group of requests (one statement each), COMMIT and the commit's
   * announcement, in one simple-protocol message. Values are inlined as literals (numbers
   * checked, the family id a checked uuid, ids escaped by the driver). A statement after a
   * failed one of the message does not run: the NOTIFY goes out only after a successful
   * COMMIT, and needs no round trip of its own.
   */
  async pullAllAndCommit(tx: WireTransaction, familyId: string, queries: PullQuery[], notice?: CommitNotice): Promise<PulledJsonPage[]> {
    return (await this.send(tx, familyId, queries, notice)).pages;
  }

  /**
   * As `pullAllAndCommit`, with `first` sent before the pulls in the same message (and BEGIN
   * with it, when the transaction has not started: then the whole transaction is one round
   * trip and `first` reads the snapshot the pulls read); its rows too.
   */
  async firstPullAllAndCommit(
    tx: WireTransaction,
    familyId: string,
    first: string,
    queries: PullQuery[],
  ): Promise<{ first: Record<string, unknown>[]; pages: PulledJsonPage[] }> {
    return this.send(tx, familyId, queries, undefined, first);
  }

  private async send(
    tx: WireTransaction,
    familyId: string,
    queries: PullQuery[],
    notice?: CommitNotice,
    first?: string,
  ): Promise<{ first: Record<string, unknown>[]; pages: PulledJsonPage[] }> {
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
    const results = await tx.commitAll<PulledLaneRow>(first === undefined ? statements : [first, ...statements], after);
    const firstRows = first === undefined ? [] : (results.shift() as unknown as Record<string, unknown>[]);
    const pages = zip(queries, results).map(([query, rows]) => (query.lanes ? toLanePage(rows) : toPage(rows, query.limit)));
    return { first: firstRows, pages };
  }

  /**
   * PROTOCOL 2.9 `backlog`: per lane, the changes after `afterUs` in its tables (every one
   * the following pages deliver, tombstones too), counted up to BACKLOG_CAP. After the commit.
   */
  async countBacklog(familyId: string, lanes: { lane: Lane; tables: string[]; afterUs: number }[]): Promise<Map<Lane, number>> {
    const counted = lanes.filter((l) => l.tables.length > 0);
    if (counted.length === 0) return new Map();
    const args: unknown[] = [familyId];
    const parts = counted.map(({ lane, tables, afterUs }) => {
      const after = `$${args.push(afterUs)}`;
      const rows = tables.map((table) => `SELECT 1 FROM ${table} WHERE family_id = $1 AND changed_us > ${after}`).join(' UNION ALL ');
      return `SELECT ${lane} AS lane, (SELECT count(*) FROM (${rows} LIMIT ${BACKLOG_CAP}) AS r)::int AS n`;
    });
    const rows = await this.dataSource.query<{ lane: Lane; n: number }[]>(parts.join(' UNION ALL '), args);
    return new Map(rows.map((r) => [r.lane, r.n]));
  }

  /** Where a device's paging stands: the watermark and lane cursors of its last cut page. */
  async resyncCursor(tx: WireTransaction, familyId: string, deviceId: string): Promise<DeviceCursor | undefined> {
    const rows = await tx.query('SELECT resync_cursor_us, resync_lanes FROM sync_devices WHERE family_id = $1 AND device_id = $2', [
      familyId,
      deviceId,
    ]);
    return rows[0]?.resync_cursor_us == null
      ? undefined
      : { us: Number(rows[0].resync_cursor_us), lanes: String(rows[0].resync_lanes ?? '') };
  }

  /** After the commit. Saved only while the horizon is the one the page was read under: a purge in between restarts the resync. */
  async setResyncCursor(familyId: string, deviceId: string, cursor: { cursorUs: number; lanes: string; horizonUs: number }): Promise<void> {
    await this.dataSource.query(
      `UPDATE sync_devices SET resync_cursor_us = $3, resync_lanes = $5 WHERE family_id = $1 AND device_id = $2
         AND (SELECT horizon_us FROM family_sync_state WHERE family_id = $1) = $4`,
      [familyId, deviceId, cursor.cursorUs, cursor.horizonUs, cursor.lanes],
    );
  }
}
