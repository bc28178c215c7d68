import { integerArg, PreparedSql, shapeName, textArrayArg } from '@app/database';
import { Lane, LANES, MAX_ISO_US, MIN_ISO_US } from '@app/sync-contract';
import { uuidLiteral } from '../sync-row.mapping';

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
export const PREPARED_ID_LIST_MAX = 128;

/**
 * One `server_changes` entry as JSON text, built from a row's columns (entity_type, id,
 * version, data, client_us, changed_us, deleted_us); `created`: SQL that is true when the
 * entity is new to the device. `patched`: the row also has a `patch` column (PROTOCOL 2.10):
 * where it is not null, the entry carries `"patch": true` and those fields as `data`.
 */
const entryJson = (
  created: string,
  patched = false,
) => `'{"entity_type":' || to_json(entity_type)::text || ',"entity_id":' || to_json(id)::text ||
                 ',"action":"' || CASE WHEN deleted_us IS NOT NULL THEN 'delete' WHEN ${created} THEN 'create' ELSE 'update' END ||
                 ${
                   patched
                     ? `'",' || CASE WHEN patch IS NOT NULL THEN '"patch":true,"data":' || patch::text WHEN deleted_us IS NULL THEN '"data":' || data::text ELSE '"data":null' END`
                     : `'","data":' || CASE WHEN deleted_us IS NULL THEN data::text ELSE 'null' END`
                 } || ',"version":' || version ||
                 ',"client_timestamp":"' || ${iso('client_us')} || '","server_timestamp":"' || ${iso('changed_us')} || '"}'`;

/**
 * PROTOCOL 2.10: the fields of a row written after `cursor` (with their current values), for
 * an entity the device holds at `cursor` (created at or before it, live, its field positions
 * known); null where the patch would hold every field (the full entry is no larger) or the
 * device does not hold the entity.
 */
const patchOf = (cursor: string) =>
  `CASE WHEN deleted_us IS NULL AND created_us <= ${cursor} AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > ${cursor}) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > ${cursor}), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END`;

/** Whether a client timestamp is outside years 1..9999 (its text then needs the service's formatting). */
const ODD = `NOT (client_us >= ${MIN_ISO_US} AND client_us < ${MAX_ISO_US})`;

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
export function pullStatement(tables: readonly PullTable[], mode: 'since' | 'state', maxBytes: number, patches = false): PreparedSql {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new Error(`pull byte limit must be a positive integer, got ${maxBytes}`);
  const types = mode === 'since' ? ['uuid', 'bigint', 'integer'] : ['uuid', 'integer'];
  const param = (type: string) => `$${types.push(type)}`;
  const readLimit = mode === 'since' ? '$3' : '$2';
  // Patches only on incremental pages: a first sync or resync sends whole entities.
  const patched = patches && mode === 'since';
  const branches = tables.map(({ entityType, table }) => {
    const exclude = param('text[]');
    const where = mode === 'since' ? `changed_us > $2` : `(deleted_us IS NULL OR id = ANY(${param('text[]')}))`;
    const patch = patched ? `, ${patchOf('$2')} AS patch` : '';
    return `(SELECT '${entityType}' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us${patch}
             FROM ${table} WHERE family_id = $1 AND ${where} AND id <> ALL(${exclude}) ORDER BY changed_us LIMIT ${readLimit})`;
  });
  const created = mode === 'since' ? 'created_us > $2' : 'true';
  // `total`: the page's bytes up to this entry ('[' and a comma or ']' each): it fits while under maxBytes.
  // `OFFSET 0` keeps the entries' subquery from being flattened into the window's: flattened,
  // PostgreSQL built each entry twice (for the window's sum and for the output), 5.5 ms
  // against 3.6 ms for a 1,000-entry page (issue 32).
  // `s.changed_us` orders by the position itself (the bare name would be the text output
  // column): rows arrive in that order from the index, so PostgreSQL sorts nothing.
  const text = `SELECT changed_us::text AS changed_us, odd, CASE WHEN n = 1 OR total <= ${maxBytes} THEN entry END AS entry
          FROM (SELECT changed_us, odd, entry, row_number() OVER w AS n, 1 + sum(octet_length(entry) + 1) OVER w AS total
                FROM (SELECT changed_us, ${ODD} AS odd,
                 ${entryJson(created, patched)} AS entry
                  FROM (SELECT * FROM (${branches.join(' UNION ALL ')}) AS changed ORDER BY changed_us LIMIT ${readLimit}) AS p
                  OFFSET 0) AS e
                WINDOW w AS (ORDER BY changed_us ROWS UNBOUNDED PRECEDING)) AS s
          WHERE n <= 2 OR total - octet_length(entry) - 1 <= ${maxBytes}
          ORDER BY s.changed_us`;
  return new PreparedSql(shapeName(`sync_pull_${mode}${patched ? '_patches' : ''}`, text), types, text);
}

/** The arguments of `pullStatement` (or, with `lanes`, of `lanePullStatement`) for one pull. */
export function pullArgs(familyId: string, query: PullArgsQuery, literal: (value: string) => string): string[] {
  const ids = (list: readonly string[] = []) => textArrayArg(list, literal);
  const head = [uuidLiteral(familyId)];
  if (query.sinceUs !== null && query.lanes) for (const lane of LANES) head.push(integerArg(query.lanes[lane] ?? query.sinceUs));
  else if (query.sinceUs !== null) head.push(integerArg(query.sinceUs));
  head.push(integerArg(query.limit + 1));
  for (const t of query.tables) {
    head.push(ids(t.excludeIds));
    if (query.sinceUs === null) head.push(ids(t.alsoDeleted));
  }
  return head;
}

/** What the arguments of a pull are built from. */
export interface PullArgsQuery {
  /** null: first sync (or resync) = the current state without tombstones. */
  sinceUs: number | null;
  limit: number;
  /** Opted in to patches (PROTOCOL 2.10): incremental pages send patches for entities the device holds. */
  patches?: boolean;
  /** Opted in to lanes (PROTOCOL 2.9): each lane's cursor; the pull is then `lanePullStatement`. */
  lanes?: Record<Lane, number | null>;
  /** `alsoDeleted`: with `sinceUs` null, ids whose tombstones are sent too (see EvaluatedBatch.changedLater). */
  tables: { entityType: string; table: string; lane: Lane; excludeIds: string[]; alsoDeleted?: string[] }[];
}

export interface LaneTable extends PullTable {
  lane: Lane;
}

/**
 * The pull of a request that opted in to lanes (PROTOCOL 2.9), one prepared statement per
 * mode. Each table is read after its lane's cursor ($2, $3, $4 for lanes 0, 1, 2) in commit
 * order. The page is filled in one order: first up to a quarter of the page
 * (`ceil(limit / 4)`) from the lane whose oldest undelivered change is the oldest of all (so
 * a backlog drains while a busier lane keeps writing), then lane by lane, 0 first, each in
 * commit order.
 *
 * How many rows each lane gets depends only on how many each has (up to `limit + 1`) and on
 * which is oldest: `plan` counts them on narrow rows (no entry built, no sort) and works the
 * shares out. Then each lane's share is read as its own range of the index in commit order
 * (a merge of its tables, LIMIT and OFFSET from the plan), the reserved quarter first: the
 * segments in fill order, so no row is sorted. Entries are built only for those rows and cut
 * by the byte limit as in `pullStatement`, in the same order. A lane with more gets one row
 * without its text (its first undelivered change: the row after its share, or the first one
 * the byte limit left out), which tells the service how far the lane is delivered. Rows come
 * in fill order (the service lists the page by lane).
 *
 * Parameters: $1 family, then (incremental only) the three lane cursors, then limit + 1,
 * then per table the ids not to echo and, for a first sync, the tombstones sent anyway.
 */
export function lanePullStatement(tables: readonly LaneTable[], mode: 'since' | 'state', maxBytes: number, patches = false): PreparedSql {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new Error(`pull byte limit must be a positive integer, got ${maxBytes}`);
  const types = mode === 'since' ? ['uuid', 'bigint', 'bigint', 'bigint', 'integer'] : ['uuid', 'integer'];
  const param = (type: string) => `$${types.push(type)}`;
  const L = mode === 'since' ? '$5' : '$2';
  const patched = patches && mode === 'since';
  const filters = tables.map(({ lane }) => {
    const exclude = param('text[]');
    const cursor = `$${2 + lane}`;
    const where = mode === 'since' ? `changed_us > ${cursor}` : `(deleted_us IS NULL OR id = ANY(${param('text[]')}))`;
    return {
      where: `family_id = $1 AND ${where} AND id <> ALL(${exclude})`,
      created: mode === 'since' ? `created_us > ${cursor}` : 'true',
      patch: patched ? `, ${patchOf(cursor)} AS patch` : '',
    };
  });
  /** A lane's candidate rows (`columns` of each of its tables), each table in commit order, at most `limit + 1`. */
  const laneRows = (lane: Lane, columns: (entityType: string, filter: (typeof filters)[number]) => string) =>
    tables.flatMap((t, i) =>
      t.lane === lane
        ? [`(SELECT ${columns(t.entityType, filters[i]!)} FROM ${t.table} WHERE ${filters[i]!.where} ORDER BY changed_us LIMIT ${L})`]
        : [],
    );
  const full = (et: string, { created, patch }: (typeof filters)[number]) =>
    `'${et}' AS entity_type, id, version, data, client_us, ${created} AS created, changed_us, deleted_us${patch}`;
  const heads = LANES.map((lane) => {
    const rows = laneRows(lane, () => 'changed_us');
    return rows.length === 0
      ? `SELECT ${lane} AS lane, 0::bigint AS c, NULL::bigint AS first`
      : `SELECT ${lane} AS lane, least(count(*), ${L}) AS c, min(changed_us) AS first FROM (${rows.join(' UNION ALL ')}) AS h`;
  });
  // Each lane's share: r reserved for the oldest lane o, then lane by lane (k0, k1, k2 besides r).
  const share = (lane: Lane) => `c${lane} - CASE WHEN o = ${lane} THEN r ELSE 0 END`;
  const plan = `SELECT o, r, k0, k1, greatest(0, least(${share(2)}, ${L} - 1 - r - k0 - k1)) AS k2
     FROM (SELECT *, greatest(0, least(${share(1)}, ${L} - 1 - r - k0)) AS k1
           FROM (SELECT *, greatest(0, least(${share(0)}, ${L} - 1 - r)) AS k0
                 FROM (SELECT *, CASE o WHEN 0 THEN least(q, c0) WHEN 1 THEN least(q, c1) WHEN 2 THEN least(q, c2) ELSE 0 END AS r
                       FROM (SELECT (SELECT c FROM heads WHERE lane = 0) AS c0, (SELECT c FROM heads WHERE lane = 1) AS c1,
                                    (SELECT c FROM heads WHERE lane = 2) AS c2, (${L} + 2) / 4 AS q,
                                    (SELECT lane FROM heads WHERE c > 0 ORDER BY first LIMIT 1) AS o) AS counted) AS reserved) AS first_lane) AS second_lane`;
  // Segments in fill order: the reserved rows (seg 0-2), then each lane's share and the row after it (seg 3-5).
  const segments = LANES.flatMap((lane) => {
    const rows = laneRows(lane, full);
    if (rows.length === 0) return [];
    const merged = `SELECT * FROM (${rows.join(' UNION ALL ')}) AS l${lane} ORDER BY changed_us`;
    const reserved = `(SELECT CASE WHEN o = ${lane} THEN r ELSE 0 END FROM plan)`;
    return [
      { seg: lane, text: `SELECT ${lane} AS seg, ${lane} AS lane, false AS beyond, * FROM (${merged} LIMIT ${reserved}) AS s${lane}` },
      {
        seg: 3 + lane,
        text: `SELECT ${3 + lane} AS seg, ${lane} AS lane, row_number() OVER (ORDER BY changed_us) > (SELECT k${lane} FROM plan) AS beyond, *
               FROM (${merged} LIMIT (SELECT k${lane} + 1 FROM plan) OFFSET ${reserved}) AS m${lane}`,
      },
    ];
  }).sort((a, b) => a.seg - b.seg);
  // OFFSET 0 on `built`: each entry is built once (see pullStatement).
  const text = `WITH heads AS (${heads.join(' UNION ALL ')}), plan AS MATERIALIZED (${plan})
          SELECT lane, changed_us::text AS changed_us, odd, CASE WHEN fits THEN entry END AS entry
          FROM (SELECT seg, lane, changed_us, odd, entry, entry IS NOT NULL AND (total - octet_length(entry) = 2 OR total <= ${maxBytes}) AS fits
                FROM (SELECT *, 1 + sum(octet_length(entry) + 1) OVER (ORDER BY seg, changed_us ROWS UNBOUNDED PRECEDING) AS total
                      FROM (SELECT seg, lane, changed_us, ${ODD} AS odd, CASE WHEN NOT beyond THEN ${entryJson('created', patched)} END AS entry
                            FROM (${segments.map((x) => x.text).join(' UNION ALL ')}) AS segs OFFSET 0) AS built) AS summed) AS page
          ORDER BY page.seg, page.changed_us`;
  return new PreparedSql(shapeName(`sync_pull_lanes_${mode}${patched ? '_patches' : ''}`, text), types, text);
}
