import { isUuid } from '@app/database';
import type { EntityData, FieldClocks, FieldPositions } from '@app/sync-contract';
import type { FamilyClock, StoredRow } from './push/batch/batch.types';

/** Column list and mappings of the synced entity tables, shared by the sync repositories. */
export const ROW_COLUMNS = 'id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us, field_positions';

/** A family id inlined in simple-protocol text: it must be a uuid. */
export function uuidLiteral(familyId: string): string {
  if (!isUuid(familyId)) throw new Error('family id must be a uuid');
  return `'${familyId}'`;
}

export const toClock = (r: Record<string, unknown>): FamilyClock => ({
  lastUs: Number(r.last_us),
  horizonUs: Number(r.horizon_us),
  nowUs: Number(r.now_us),
});

export const toRow = (r: Record<string, unknown>): StoredRow => ({
  id: r.id as string,
  version: r.version as number,
  data: r.data as EntityData | null,
  fieldClocks: r.field_clocks as FieldClocks,
  deleted: r.deleted_us !== null,
  clientUs: Number(r.client_us),
  createdUs: Number(r.created_us),
  changedUs: Number(r.changed_us),
  deletedUs: r.deleted_us === null ? null : Number(r.deleted_us),
  fieldPositions: (r.field_positions ?? null) as FieldPositions | null,
});

export const toRecord = (r: StoredRow) => ({
  id: r.id,
  version: r.version,
  data: r.data,
  field_clocks: r.fieldClocks,
  client_us: r.clientUs,
  created_us: r.createdUs,
  changed_us: r.changedUs,
  deleted_us: r.deletedUs,
  field_positions: r.fieldPositions ?? null,
});

/**
 * `$1` is the family id, `rowsParam` a JSON array of rows. `field_positions` as the writer
 * computed them (`positionsAfter`); null, or the row's old ones, leave them to the trigger.
 */
export const upsertSql = (table: string, rowsParam: string) => `
  INSERT INTO ${table} (family_id, id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us, field_positions)
  SELECT $1, r.id, r.version, r.data, r.field_clocks, r.client_us, r.created_us, r.changed_us, r.deleted_us, r.field_positions
  FROM jsonb_to_recordset(${rowsParam}::jsonb) AS r(id text, version integer, data jsonb, field_clocks jsonb,
       client_us bigint, created_us bigint, changed_us bigint, deleted_us bigint, field_positions jsonb)
  ON CONFLICT (family_id, id) DO UPDATE SET
    version = EXCLUDED.version, data = EXCLUDED.data, field_clocks = EXCLUDED.field_clocks,
    client_us = EXCLUDED.client_us, changed_us = EXCLUDED.changed_us, deleted_us = EXCLUDED.deleted_us,
    field_positions = EXCLUDED.field_positions`;
