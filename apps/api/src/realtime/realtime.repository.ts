import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { microsToIso } from '@app/sync-contract';

/** Runs one statement: the pool (DataSource) or the listener's own client. */
interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows);

/** The reads of the realtime module: family positions (as `last_sync_at` values) and memberships. */
@Injectable()
export class RealtimeRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The family's current position; a family that never synced is at the epoch, as its first pull says. */
  async position(familyId: string): Promise<string> {
    return (await this.positions(this.dataSource, [familyId])).get(familyId)!;
  }

  async positions(db: Queryable, familyIds: string[]): Promise<Map<string, string>> {
    const rows = rowsOf<{ family_id: string; last_us: string }>(
      await db.query('SELECT family_id::text, last_us FROM family_sync_state WHERE family_id = ANY($1::uuid[])', [familyIds]),
    );
    const found = new Map(rows.map((r) => [r.family_id, Number(r.last_us)]));
    return new Map(familyIds.map((id) => [id, microsToIso(found.get(id) ?? 0)]));
  }

  /** Which of these (family, user) pairs are still members, as `family\0user` keys. */
  async members(db: Queryable, pairs: { familyId: string; userId: string }[]): Promise<Set<string>> {
    const rows = rowsOf<{ family_id: string; user_id: string }>(
      await db.query(
        `SELECT m.family_id::text, m.user_id FROM family_members m
         JOIN unnest($1::uuid[], $2::text[]) AS p(family_id, user_id) ON p.family_id = m.family_id AND p.user_id = m.user_id`,
        [pairs.map((p) => p.familyId), pairs.map((p) => p.userId)],
      ),
    );
    return new Set(rows.map((r) => `${r.family_id}\u0000${r.user_id}`));
  }
}
