/**
 * Timestamps of the protocol are microsecond ISO-8601 strings; internally they are integers
 * of microseconds since the epoch (exact in a JS number until year 2255), because a JS Date
 * holds only milliseconds.
 */
const ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}(:\\d{2}([.,]\\d{1,9})?)?';
const ZONE = '([Zz]|[+-]\\d{2}(:?\\d{2})?)';
/** `client_timestamp`: an ISO-8601 date-time with a zone (Z or an offset). Also the JSON Schema pattern. */
export const CLIENT_TIMESTAMP_PATTERN = `${DATE_TIME}${ZONE}$`;
/** `last_sync_at`: an ISO-8601 date-time; without a zone it is UTC. */
export const WATERMARK_PATTERN = `${DATE_TIME}${ZONE}?$`;
export const ISO_WITH_ZONE = new RegExp(CLIENT_TIMESTAMP_PATTERN);

/** Parses an ISO-8601 date-time (a missing zone means UTC); undefined when it is not one. */
export function isoToMicros(value: string): number | undefined {
  const m = ISO.exec(value);
  if (!m) return undefined;
  const [, date = '', time = '', fraction = '', zone = 'Z'] = m;
  const offset =
    zone.toUpperCase() === 'Z'
      ? 'Z'
      : zone.length === 3
        ? `${zone}:00`
        : zone.includes(':')
          ? zone
          : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}${offset}`);
  if (Number.isNaN(ms) || !isCalendarDate(date)) return undefined;
  return ms * 1000 + Number(fraction.slice(0, 6).padEnd(6, '0'));
}

/** Date.parse rolls an impossible day over (2025-02-30 -> March 2): such a date is no date. */
function isCalendarDate(date: string): boolean {
  const [year = 0, month = 0, day = 0] = date.split('-').map(Number);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in µs (both exact in a double). */
export const MIN_ISO_US = -62_135_596_800_000_000;
export const MAX_ISO_US = 253_402_300_800_000_000;

/** Within the years 1..9999 (UTC): what ISO-8601 with four-digit years, and the protocol, can write. */
export function isProtocolYear(us: number): boolean {
  return us >= MIN_ISO_US && us < MAX_ISO_US;
}

export function microsToIso(us: number): string {
  const seconds = Math.floor(us / 1_000_000);
  const micros = String(us - seconds * 1_000_000).padStart(6, '0');
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${micros}Z`;
}
