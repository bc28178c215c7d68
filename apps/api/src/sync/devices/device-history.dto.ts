import type { ChangeAction, DeviceHistoryEntry } from '@delta-sync/client/wire';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const HISTORY_MAX = 500;

/** `GET /sync/devices/:deviceId/history?limit=N` */
export class DeviceHistoryQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: HISTORY_MAX, default: 50, description: 'How many entries, newest first' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(HISTORY_MAX)
  limit?: number;
}

/** One change a device sent, as the server settled it (PROTOCOL 2.8). */
export class DeviceHistoryEntryDto implements DeviceHistoryEntry {
  @ApiProperty({ example: '2025-11-11T15:00:00.123456Z', description: 'When the request that carried it ran' })
  at: string;

  @ApiProperty({ example: 'task' })
  entity_type: string;

  @ApiProperty({ example: 'task-1' })
  entity_id: string;

  @ApiProperty({
    enum: ['create', 'update', 'delete'],
    nullable: true,
    description: 'null for changes recorded before the history existed',
  })
  action: ChangeAction | null;

  @ApiProperty({ enum: ['applied', 'merged', 'conflict', 'error'] })
  outcome: 'applied' | 'merged' | 'conflict' | 'error';

  @ApiPropertyOptional({ enum: ['server_wins', 'merged', 'delete_wins', 'done_wins'], description: 'merged and conflict outcomes' })
  resolution?: string;

  @ApiPropertyOptional({ example: 'validation', description: 'error outcomes: the per-change error code' })
  code?: string;
}
