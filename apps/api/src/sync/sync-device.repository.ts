import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DeviceDto } from './dto/device.dto';

/** Per-device last-seen and sync count, on the pool (a push records its device in its write statement). */
@Injectable()
export class SyncDeviceRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Only for a member: this runs beside the membership check of a pull, not after it. */
  async touch(familyId: string, deviceId: string, userId: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO sync_devices (family_id, device_id, user_id)
       SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM family_members WHERE family_id = $1 AND user_id = $3)
       ON CONFLICT (family_id, device_id) DO UPDATE
       SET user_id = EXCLUDED.user_id, last_seen_at = now(), sync_count = sync_devices.sync_count + 1`,
      [familyId, deviceId, userId],
    );
  }

  async list(familyId: string): Promise<DeviceDto[]> {
    return this.dataSource.query(
      `SELECT device_id, user_id, sync_count::int AS sync_count,
              to_char(first_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS first_seen_at,
              to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_seen_at
       FROM sync_devices WHERE family_id = $1 ORDER BY last_seen_at DESC`,
      [familyId],
    );
  }
}
