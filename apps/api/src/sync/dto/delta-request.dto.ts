import { ApiProperty, ApiPropertyOptional, OpenAPIObject } from '@nestjs/swagger';
import type { LaneCursors } from '@delta-sync/client/wire';
import { DeltaRequest, SYNC_ACTIONS, SyncChangeInput } from './delta-request';

/** OpenAPI description of the request; validation is `DeltaRequestValidator` (JSON Schema). */
export class SyncChangeDto implements SyncChangeInput {
  @ApiProperty({ example: 'task', description: 'task | event | points_ledger | user_streak | badge' })
  entity_type: string;

  @ApiProperty({ example: 'task-1', minLength: 1, maxLength: 128 })
  entity_id: string;

  @ApiProperty({ enum: SYNC_ACTIONS })
  action: (typeof SYNC_ACTIONS)[number];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { title: 'Task 1', status: 'open' } })
  data?: Record<string, unknown>;

  @ApiPropertyOptional({ minimum: 0, description: 'Required for task update/delete (optimistic locking)' })
  version?: number;

  @ApiProperty({ example: '2025-11-11T12:00:00Z', description: 'ISO-8601 with zone' })
  client_timestamp: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 128, description: 'Idempotency key of the change (else a digest of it is used)' })
  change_id?: string;
}

export class DeltaRequestDto implements DeltaRequest {
  @ApiProperty({ example: 'phone-123', minLength: 1, maxLength: 128 })
  device_id: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2025-11-11T15:00:00.123456Z',
    description: 'The last_sync_at of the previous response, unchanged; null or absent = first sync',
  })
  last_sync_at?: string | null;

  @ApiPropertyOptional({ type: [SyncChangeDto], description: 'At most SYNC_MAX_BATCH changes (maxItems is set from it)' })
  changes?: SyncChangeDto[];

  @ApiPropertyOptional({ description: 'Any error or conflict rolls the whole batch back (default false)' })
  atomic?: boolean;

  @ApiPropertyOptional({ minimum: 1, maximum: 5000, description: 'Most server_changes in one response (default 1000)' })
  limit?: number;

  @ApiPropertyOptional({
    type: 'object',
    properties: {
      0: { type: 'string', format: 'date-time' },
      1: { type: 'string', format: 'date-time' },
      2: { type: 'string', format: 'date-time' },
    },
    additionalProperties: false,
    example: {},
    description:
      'Opts in to sync lanes (PROTOCOL 2.9): {} or the lanes of the previous answer, unchanged. A device far behind then gets lane 0 (task, event) first and lane 2 (points_ledger) last',
  })
  lanes?: LaneCursors;

  @ApiPropertyOptional({
    description:
      'Opts in to field-level pulls (PROTOCOL 2.10): an entity the device already holds may come as a patch (patch: true, data = only the fields written since its cursor)',
  })
  patches?: boolean;
}

/** Limits that come from configuration, written into the generated document (decorators cannot read it). */
export function documentSyncLimits(document: OpenAPIObject, limits: { maxBatch: number }): void {
  const schema = document.components?.schemas?.[DeltaRequestDto.name] as
    { properties?: Record<string, Record<string, unknown>> } | undefined;
  if (schema?.properties?.changes) schema.properties.changes.maxItems = limits.maxBatch;
}
