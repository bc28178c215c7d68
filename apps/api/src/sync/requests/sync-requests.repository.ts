import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { RequestRecord } from '../push/batch/request-record';

/** One line of `GET /sync/requests`. */
export interface RequestSummary {
  request_id: string;
  at: string;
  device_id: string;
  user_id: string;
  changes: number;
  applied: number;
  conflicts: number;
  errors: number;
}

/** What explain reads: the entity's row, the device's confirmed cursor, and whether the entity was ever synced. */
export interface ExplainFacts {
  row: { version: number; changedUs: number; deleted: boolean } | null;
  device: { lastSyncUs: number | null; lanes: Record<string, number | null> | null; lastSeen: string } | null;
  /** A receipt or a record names the entity (it existed: gone now means purged). */
  seen: boolean;
}

/** The SQL of the push records (PROTOCOL 2.11); every statement is scoped to one family. */
@Injectable()
export class SyncRequestsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async list(familyId: string, deviceId: string | undefined, limit: number): Promise<RequestSummary[]> {
    const rows: (Omit<RequestSummary, 'at'> & { at: Date })[] = await this.dataSource.query(
      `SELECT id AS request_id, recorded_at AS at, device_id, user_id, jsonb_array_length(changes) AS changes, applied, conflicts, errors
       FROM sync_requests WHERE family_id = $1 AND ($2::text IS NULL OR device_id = $2)
       ORDER BY recorded_at DESC, id LIMIT $3`,
      [familyId, deviceId ?? null, limit],
    );
    return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
  }

  async get(familyId: string, id: string): Promise<(RequestRecord & { at: string }) | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT id, device_id, user_id, recorded_at, position_before_us::text, position_us::text, server_us::text, atomic, discarded,
              max_skew_us::text, changes, before, outcomes, applied, conflicts, errors
       FROM sync_requests WHERE family_id = $1 AND id = $2`,
      [familyId, id],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      id: r.id as string,
      at: (r.recorded_at as Date).toISOString(),
      deviceId: r.device_id as string,
      userId: r.user_id as string,
      positionBeforeUs: Number(r.position_before_us),
      positionUs: Number(r.position_us),
      serverUs: Number(r.server_us),
      atomic: r.atomic as boolean,
      discarded: r.discarded as boolean,
      maxSkewUs: Number(r.max_skew_us),
      changes: r.changes as RequestRecord['changes'],
      before: r.before as RequestRecord['before'],
      outcomes: r.outcomes as RequestRecord['outcomes'],
      applied: r.applied as number,
      conflicts: r.conflicts as number,
      errors: r.errors as number,
    };
  }

  async explainFacts(familyId: string, table: string, type: string, entityId: string, deviceId: string): Promise<ExplainFacts> {
    const [facts]: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT (SELECT jsonb_build_object('version', version, 'changedUs', changed_us, 'deleted', deleted_us IS NOT NULL)
                 FROM ${table} WHERE family_id = $1 AND id = $3) AS row,
              (SELECT jsonb_build_object('lastSyncUs', last_sync_us, 'lanes', lanes, 'lastSeen', last_seen_at)
                 FROM sync_devices WHERE family_id = $1 AND device_id = $4) AS device,
              EXISTS (SELECT 1 FROM sync_receipts WHERE family_id = $1 AND entity_type = $2 AND entity_id = $3)
                OR EXISTS (SELECT 1 FROM sync_requests WHERE family_id = $1
                             AND changes @> jsonb_build_array(jsonb_build_object('entity_type', $2::text, 'entity_id', $3::text))) AS seen`,
      [familyId, type, entityId, deviceId],
    );
    return {
      row: (facts?.row as ExplainFacts['row']) ?? null,
      device: (facts?.device as ExplainFacts['device']) ?? null,
      seen: facts?.seen === true,
    };
  }
}
