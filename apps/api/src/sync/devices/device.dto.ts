import { ApiProperty } from '@nestjs/swagger';

/** A device of the family, as `GET /sync/devices` lists it. */
export class DeviceDto {
  @ApiProperty({ example: 'phone-123' }) device_id: string;
  @ApiProperty({ example: 'alice', description: 'The user of its latest sync' }) user_id: string;
  @ApiProperty({ example: 42 }) sync_count: number;
  @ApiProperty({ example: '2025-11-11T15:00:00.123456Z' }) first_seen_at: string;
  @ApiProperty({ example: '2025-11-11T15:00:00.123456Z' }) last_seen_at: string;
}
