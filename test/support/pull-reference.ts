import { EntityData, microsToIso } from '@app/sync-contract';
import type { ServerChangeDto } from '../../apps/api/src/sync/dto/delta-response.dto';

/** One row of a pull, as stored. */
export interface PulledRow {
  entityType: string;
  id: string;
  version: number;
  data: EntityData | null;
  clientUs: number;
  createdUs: number;
  changedUs: number;
  deleted: boolean;
}

/**
 * The reference of what the pull SQL builds for a row (PROTOCOL 2): `create` on a first sync
 * or when created after the watermark, `delete` (without data) for a tombstone, else
 * `update`; timestamps in microsecond ISO.
 */
export function referenceServerChange(row: PulledRow, since: number | null): ServerChangeDto {
  return {
    entity_type: row.entityType,
    entity_id: row.id,
    action: row.deleted ? 'delete' : since === null || row.createdUs > since ? 'create' : 'update',
    data: row.deleted ? null : row.data,
    version: row.version,
    client_timestamp: microsToIso(row.clientUs),
    server_timestamp: microsToIso(row.changedUs),
  };
}
