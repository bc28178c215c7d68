import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

export const REQUESTS_MAX = 500;

/** `GET /sync/requests?device_id=&limit=` (PROTOCOL 2.11) */
export class RequestListQueryDto {
  @ApiPropertyOptional({ description: 'Only this device' })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  device_id?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: REQUESTS_MAX, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(REQUESTS_MAX)
  limit?: number;
}

/** One recorded push, in the list. */
export class RequestSummaryDto {
  @ApiProperty({ format: 'uuid' }) request_id: string;
  @ApiProperty({ example: '2025-11-11T15:00:00.123Z' }) at: string;
  @ApiProperty() device_id: string;
  @ApiProperty() user_id: string;
  @ApiProperty({ description: 'How many changes it carried' }) changes: number;
  @ApiProperty() applied: number;
  @ApiProperty() conflicts: number;
  @ApiProperty() errors: number;
}

/** `GET /sync/explain?device_id=&entity_type=&entity_id=` (PROTOCOL 2.11) */
export class ExplainQueryDto {
  @ApiProperty()
  @IsString()
  @Length(1, 128)
  device_id: string;

  @ApiProperty({ example: 'task' })
  @IsString()
  @Length(1, 64)
  entity_type: string;

  @ApiProperty()
  @IsString()
  @Length(1, 128)
  entity_id: string;
}

export const EXPLAIN_REASONS = ['delivered', 'changed_after_last_sync', 'device_never_synced', 'never_existed', 'purged'] as const;

/** Whether a device has an entity's latest state, and why not. */
export class ExplainDto {
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true, description: '{version, position, deleted, lane}' })
  entity: { version: number; position: string; deleted: boolean; lane: number } | null;

  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true, description: '{last_sync_at, lanes, last_seen}' })
  device: { last_sync_at: string | null; lanes: Record<string, string>; last_seen: string } | null;

  @ApiProperty() delivered: boolean;

  @ApiProperty({ enum: EXPLAIN_REASONS }) reason: (typeof EXPLAIN_REASONS)[number];
}
