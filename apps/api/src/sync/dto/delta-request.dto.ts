import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ISO_WITH_ZONE } from '../sync-time';

export const SYNC_ACTIONS = ['create', 'update', 'delete'] as const;

export class SyncChangeDto {
  @ApiProperty({ example: 'task', description: 'task | event | points_ledger | user_streak | badge' })
  @IsString()
  @Length(1, 64)
  entity_type: string;

  @ApiProperty({ example: 'task-1', minLength: 1, maxLength: 128 })
  @IsString()
  @Length(1, 128)
  entity_id: string;

  @ApiProperty({ enum: SYNC_ACTIONS })
  @IsIn(SYNC_ACTIONS)
  action: (typeof SYNC_ACTIONS)[number];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { title: 'Task 1', status: 'open' } })
  @ValidateIf((o) => o.action !== 'delete' || o.data !== undefined)
  @IsObject({ message: 'data must be an object' })
  data?: Record<string, unknown>;

  @ApiPropertyOptional({ minimum: 0, description: 'Required for task update/delete (optimistic locking)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  version?: number;

  @ApiProperty({ example: '2025-11-11T12:00:00Z', description: 'ISO-8601 with zone' })
  @IsString()
  @Matches(ISO_WITH_ZONE, { message: 'client_timestamp must be an ISO-8601 date-time with a zone' })
  client_timestamp: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 128, description: 'Idempotency key of the change (else a digest of it is used)' })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  change_id?: string;
}

export class DeltaRequestDto {
  @ApiProperty({ example: 'phone-123', minLength: 1, maxLength: 128 })
  @IsString()
  @Length(1, 128)
  device_id: string;

  @ApiPropertyOptional({
    nullable: true,
    example: '2025-11-11T15:00:00.123456Z',
    description: 'The last_sync_at of the previous response, unchanged; null or absent = first sync',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i, {
    message: 'last_sync_at must be an ISO-8601 date-time (echo the server value)',
  })
  last_sync_at?: string | null;

  @ApiPropertyOptional({ type: [SyncChangeDto], maxItems: 500 })
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SyncChangeDto)
  changes?: SyncChangeDto[];

  @ApiPropertyOptional({ default: false, description: 'Any error or conflict rolls the whole batch back' })
  @IsOptional()
  @IsBoolean()
  atomic?: boolean;

  @ApiPropertyOptional({ minimum: 1, maximum: 5000, default: 1000, description: 'Most server_changes in one response' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(5000)
  limit?: number;
}
