import type {
  AppliedEntry,
  ChangeError,
  ConflictEntry,
  DeltaResponse,
  LaneBacklog,
  LaneCursors,
  ServerChange,
} from '@delta-sync/client/wire';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ServerChangeDto implements ServerChange {
  @ApiProperty() entity_type: string;
  @ApiProperty() entity_id: string;
  @ApiProperty({ enum: ['create', 'update', 'delete'] }) action: 'create' | 'update' | 'delete';
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true }) data: Record<string, unknown> | null;
  @ApiProperty() version: number;
  @ApiProperty({ example: '2025-11-11T14:00:00.000000Z' }) client_timestamp: string;
  @ApiProperty({ example: '2025-11-11T15:00:00.123456Z', description: 'Commit position (same kind as last_sync_at)' })
  server_timestamp: string;
  @ApiPropertyOptional({
    enum: [true],
    description:
      'Only with patches (PROTOCOL 2.10): data holds only the fields written since the device cursor; merge them into the entity',
  })
  patch?: true;
}

export class ConflictDto implements ConflictEntry {
  @ApiProperty() entity_type: string;
  @ApiProperty() entity_id: string;
  @ApiProperty({ example: 'Version mismatch' }) conflict_reason: string;
  @ApiProperty({ enum: ['server_wins', 'merged', 'delete_wins', 'done_wins'] }) resolution: string;
  @ApiProperty({ nullable: true, type: Number }) client_version: number | null;
  @ApiProperty({ nullable: true, type: Number }) server_version: number | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true }) server_data: Record<string, unknown> | null;
  @ApiProperty({ type: [String] }) rejected_fields: string[];
}

export class ChangeErrorDto implements ChangeError {
  @ApiProperty() index: number;
  @ApiProperty() entity_type: string;
  @ApiProperty() entity_id: string;
  @ApiProperty({ enum: ['validation', 'unknown_entity_type', 'not_found'] }) code: string;
  @ApiProperty() message: string;
}

export class AppliedDto implements AppliedEntry {
  @ApiProperty() entity_type: string;
  @ApiProperty() entity_id: string;
  @ApiProperty({ description: 'The new version (0: delete of an unknown id)' }) version: number;
  @ApiPropertyOptional({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description: 'Full state after the request, when the change was not based on it (stale task version, any event change)',
  })
  data?: Record<string, unknown> | null;
}

export class DeltaResponseDto implements DeltaResponse {
  @ApiProperty({ type: [ServerChangeDto] }) server_changes: ServerChangeDto[];
  @ApiProperty({ type: [ConflictDto] }) conflicts: ConflictDto[];
  @ApiProperty({ type: [ChangeErrorDto] }) errors: ChangeErrorDto[];
  @ApiProperty({ type: [AppliedDto] }) applied: AppliedDto[];
  @ApiProperty({ example: '2025-11-11T15:00:00.123456Z' }) last_sync_at: string;
  @ApiProperty() has_more: boolean;
  @ApiProperty() resync_required: boolean;
  @ApiProperty() success: boolean;
  @ApiProperty() applied_count: number;
  @ApiProperty() error_count: number;
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'The push record (PROTOCOL 2.11: GET /sync/requests/:id); null for a pull, a pure retry, or with SYNC_REPLAY_DAYS=0',
  })
  request_id: string | null;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', format: 'date-time' },
    example: { 0: '2025-11-11T15:00:00.123456Z' },
    description:
      'Only when the request sent lanes: per lane, the position up to which it is delivered beyond last_sync_at (echo it unchanged)',
  })
  lanes?: LaneCursors;
  @ApiPropertyOptional({
    type: 'object',
    properties: { 0: { type: 'integer' }, 1: { type: 'integer' }, 2: { type: 'integer' } },
    example: { 0: 0, 1: 12, 2: 2500 },
    description: 'Only when the request sent lanes: entities of each lane still to come after this page (10000 = at least)',
  })
  backlog?: LaneBacklog;
}
