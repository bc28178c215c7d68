/** What moving the horizon touched. */
export interface ResyncHorizonResult {
  families: number;
  /** Devices whose full-state page cursor was dropped (a continuation below the new horizon). */
  cursorsCleared: number;
}

/**
 * After a restore from backup (SPEC 3, PROTOCOL 2.5 and 2.13): moves every family's resync
 * horizon to `atUs`, the time the restored database went live, so every watermark issued before
 * it (by the backup's timeline or by the one the restore threw away) answers
 * `resync_required: true` with the full state, once. The family position moves at least as far,
 * so a write after the restore is numbered after the horizon and no device's old watermark can
 * pass for a current one; full-state page cursors are dropped, so no device continues paging a
 * state read before the restore. One statement per table, in the caller's transaction; a
 * horizon is never moved back.
 */
export async function moveResyncHorizon(
  sql: { query(text: string, params?: unknown[]): Promise<{ rowCount: number | null }> },
  atUs: number,
): Promise<ResyncHorizonResult> {
  if (!Number.isSafeInteger(atUs) || atUs <= 0) throw new Error(`resync horizon: ${atUs} is not a time in microseconds`);
  const families = await sql.query(
    'UPDATE family_sync_state SET horizon_us = greatest(horizon_us, $1), last_us = greatest(last_us, $1) WHERE horizon_us < $1 OR last_us < $1',
    [atUs],
  );
  const devices = await sql.query("UPDATE sync_devices SET resync_cursor_us = NULL, resync_lanes = '' WHERE resync_cursor_us IS NOT NULL");
  return { families: families.rowCount ?? 0, cursorsCleared: devices.rowCount ?? 0 };
}

/** `--at` of the CLI: an ISO time no later than a minute from now; none means now. */
export function parseRestoreTime(value: string | undefined, nowMs = Date.now()): number {
  if (value === undefined) return nowMs * 1000;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) throw new Error(`--at: "${value}" is not an ISO date-time`);
  if (ms > nowMs + 60_000) throw new Error(`--at: ${value} is in the future; give the time the restored database went live`);
  return ms * 1000;
}
