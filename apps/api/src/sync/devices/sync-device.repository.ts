import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isoMicrosOf } from '@app/database';
import type { DeviceDto } from './device.dto';
import type { DeviceHistoryEntryDto } from './device-history.dto';

/** Per-device last-seen and sync count, on the pool (a push records its device in its write statement). */
@Injectable()
export class SyncDeviceRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Only for a member: this runs beside the membership check of a pull, not after it. */
  /** A pull's visit, with the cursor the device sent (what it has confirmed holding: PROTOCOL 2.11). */
  async touch(
    familyId: string,
    deviceId: string,
    userId: string,
    cursor: { sinceUs: number | null; lanes: Record<string, number | null> | null },
  ): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO sync_devices (family_id, device_id, user_id, last_sync_us, lanes)
       SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM family_members WHERE family_id = $1 AND user_id = $3)
       ON CONFLICT (family_id, device_id) DO UPDATE
       SET user_id = EXCLUDED.user_id, last_seen_at = now(), sync_count = sync_devices.sync_count + 1,
           last_sync_us = EXCLUDED.last_sync_us, lanes = EXCLUDED.lanes`,
      [familyId, deviceId, userId, cursor.sinceUs, cursor.lanes === null ? null : JSON.stringify(cursor.lanes)],
    );
  }

  /**
   * A device's latest change outcomes, newest first, from its receipts (kept SYNC_RECEIPT_DAYS).
   * Receipts older than the history columns name their entity in the outcome and no action.
   */
  async history(familyId: string, deviceId: string, limit: number): Promise<DeviceHistoryEntryDto[]> {
    const rows: (DeviceHistoryEntryDto & { resolution: string | null; code: string | null })[] = await this.dataSource.query(
      `SELECT ${isoMicrosOf('created_at')} AS at,
              coalesce(entity_type, o->'applied'->>'entity_type', o->'conflict'->>'entity_type', o->'error'->>'entity_type') AS entity_type,
              coalesce(entity_id, o->'applied'->>'entity_id', o->'conflict'->>'entity_id', o->'error'->>'entity_id') AS entity_id,
              action,
              CASE WHEN o ? 'error' THEN 'error'
                   WHEN o->'conflict'->>'resolution' = 'merged' THEN 'merged'
                   WHEN o ? 'conflict' THEN 'conflict'
                   ELSE 'applied' END AS outcome,
              o->'conflict'->>'resolution' AS resolution,
              o->'error'->>'code' AS code
       FROM sync_receipts, LATERAL (SELECT outcome AS o) AS r
       WHERE family_id = $1 AND device_id = $2
       ORDER BY created_at DESC, change_index DESC NULLS LAST
       LIMIT $3`,
      [familyId, deviceId, limit],
    );
    return rows.map(({ resolution, code, ...entry }) => ({ ...entry, ...(resolution ? { resolution } : {}), ...(code ? { code } : {}) }));
  }

  async list(familyId: string): Promise<DeviceDto[]> {
    return this.dataSource.query(
      `SELECT device_id, user_id, sync_count::int AS sync_count,
              ${isoMicrosOf('first_seen_at')} AS first_seen_at,
              ${isoMicrosOf('last_seen_at')} AS last_seen_at
       FROM sync_devices WHERE family_id = $1 ORDER BY last_seen_at DESC`,
      [familyId],
    );
  }
}
