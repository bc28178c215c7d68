/**
 * Timestamps of the protocol are microsecond ISO-8601 strings; internally they are integers
 * of microseconds since the epoch (exact in a JS number until year 2255), because a JS Date
 * holds only milliseconds.
 */
const ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** ISO-8601 date-time with a zone (Z or an offset), as `client_timestamp` must be. */
export const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

/** Parses an ISO-8601 date-time (a missing zone means UTC); undefined when it is not one. */
export function isoToMicros(value: string): number | undefined {
  const m = ISO.exec(value);
  if (!m) return undefined;
  const [, date, time, fraction = '', zone = 'Z'] = m;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}${offset}`);
  if (Number.isNaN(ms)) return undefined;
  return ms * 1000 + Number(fraction.slice(0, 6).padEnd(6, '0'));
}

export function microsToIso(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = String(us - ms * 1000 + (ms % 1000) * 1000).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
}
