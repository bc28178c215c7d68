import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Transaction } from '@app/database';

const DAY_US = 86_400_000_000;

/** The SQL of the hourly purge. */
@Injectable()
export class SyncMaintenanceRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Runs `work` while holding a transaction-level advisory lock, or returns undefined at once
   * when another instance holds it. The lock lives in a transaction kept open on one
   * connection for the whole run and ends with it (COMMIT, or ROLLBACK on an error, which is
   * rethrown): a transaction-mode pooler (PgBouncer) keeps a transaction on one server
   * connection, but hands a session-level lock's unlock to whichever connection comes next.
   * Statements in READ COMMITTED hold no snapshot between them, so the open transaction does
   * not hold back vacuum.
   */
  async whileLocked<T>(key: number, work: () => Promise<T>): Promise<T | undefined> {
    const holder = this.dataSource.createQueryRunner();
    try {
      await holder.startTransaction();
      try {
        const [{ locked }] = await holder.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [key]);
        const result = locked ? await work() : undefined;
        await holder.commitTransaction();
        return result;
      } catch (error) {
        await holder.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await holder.release();
    }
  }

  /** The database's now minus `days`, in µs: the purge compares commit positions, not app clocks. */
  async cutoffUs(days: number): Promise<number> {
    const [{ cutoff }] = await this.dataSource.query(
      `SELECT ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint - $1::bigint) AS cutoff`,
      [days * DAY_US],
    );
    return Number(cutoff);
  }

  async familiesWithTombstonesBefore(tables: string[], cutoffUs: number): Promise<string[]> {
    const rows: { family_id: string }[] = await this.dataSource.query(
      tables.map((t) => `SELECT family_id FROM ${t} WHERE deleted_us < $1`).join(' UNION '),
      [cutoffUs],
    );
    return rows.map((r) => r.family_id);
  }

  /**
   * Deletes one family's tombstones older than the cutoff under its sync lock and moves its
   * horizon to the newest purged position, in the caller's transaction. Returns how many.
   */
  async purgeFamily(tx: Transaction, familyId: string, tables: string[], cutoffUs: number): Promise<number> {
    await tx.query('SELECT 1 FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [familyId]);
    let count = 0;
    let horizon = 0;
    for (const table of tables) {
      const [rows] = await tx.query(`DELETE FROM ${table} WHERE family_id = $1 AND deleted_us < $2 RETURNING deleted_us`, [
        familyId,
        cutoffUs,
      ]);
      for (const row of rows as { deleted_us: string }[]) horizon = Math.max(horizon, Number(row.deleted_us));
      count += (rows as unknown[]).length;
    }
    await tx.query('UPDATE family_sync_state SET horizon_us = greatest(horizon_us, $2) WHERE family_id = $1', [familyId, horizon]);
    // A device paging through a full state below the new horizon may have missed the deletes
    // just purged: its cursor no longer vouches for a continuation, its next page restarts
    // the resync. One at or above it missed nothing and stays a continuation (PROTOCOL 2.10:
    // no patches until its full state is complete).
    if (count > 0)
      await tx.query('UPDATE sync_devices SET resync_cursor_us = NULL WHERE family_id = $1 AND resync_cursor_us < $2', [familyId, horizon]);
    return count;
  }

  async familiesWithLiveRowsCreatedBefore(table: string, cutoffUs: number): Promise<string[]> {
    const rows: { family_id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT family_id FROM ${table} WHERE deleted_us IS NULL AND created_us < $1`,
      [cutoffUs],
    );
    return rows.map((r) => r.family_id);
  }

  /**
   * Turns one family's live rows of `table` created before the cutoff into tombstones, under
   * its sync lock, at new commit positions (max(now, last + 1µs), one per row, as a push
   * takes them): every device pulls them as deletes. Returns how many.
   */
  async expireFamily(tx: Transaction, familyId: string, table: string, cutoffUs: number): Promise<number> {
    const [{ expired }] = await tx.query(
      `WITH clock AS (
         SELECT greatest(last_us + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) AS first_us
         FROM family_sync_state WHERE family_id = $1 FOR UPDATE
       ), due AS (
         SELECT id, row_number() OVER (ORDER BY changed_us, id) - 1 AS n FROM ${table}
         WHERE family_id = $1 AND deleted_us IS NULL AND created_us < $2
       ), tombstoned AS (
         UPDATE ${table} t SET version = t.version + 1, data = NULL, changed_us = clock.first_us + due.n, deleted_us = clock.first_us + due.n
         FROM due, clock WHERE t.family_id = $1 AND t.id = due.id
         RETURNING t.changed_us
       ), moved AS (
         UPDATE family_sync_state SET last_us = (SELECT max(changed_us) FROM tombstoned)
         WHERE family_id = $1 AND EXISTS (SELECT 1 FROM tombstoned)
       )
       SELECT count(*)::int AS expired FROM tombstoned`,
      [familyId, cutoffUs],
    );
    return expired;
  }

  async purgeRequests(days: number): Promise<number> {
    const [, count] = await this.dataSource.query(`DELETE FROM sync_requests WHERE recorded_at < now() - make_interval(days => $1)`, [
      days,
    ]);
    return Number(count);
  }

  async purgeReceipts(days: number): Promise<number> {
    const [, count] = await this.dataSource.query(`DELETE FROM sync_receipts WHERE created_at < now() - make_interval(days => $1)`, [days]);
    return Number(count);
  }
}
