const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid as PostgreSQL's `uuid` type accepts it: checked before a query (or a literal) uses it. */
export const isUuid = (value: string): boolean => UUID.test(value);

/**
 * A `timestamptz` column as the protocol's ISO text, UTC with exactly six fraction digits,
 * formatted by PostgreSQL: a JS Date would drop the microseconds.
 */
export const isoMicrosOf = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
