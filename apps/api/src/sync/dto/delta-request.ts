export const SYNC_ACTIONS = ['create', 'update', 'delete'] as const;

/** The body of POST /sync/delta, as validated by `DeltaRequestValidator`. */
export interface DeltaRequest {
  device_id: string;
  last_sync_at?: string | null;
  changes?: SyncChangeInput[];
  atomic?: boolean;
  limit?: number;
}

/**
 * One change as it travels on the wire: the one type behind the OpenAPI DTO
 * (`SyncChangeDto implements` it), the JSON Schema of `DeltaRequestValidator` (its
 * properties are checked against these keys) and the e2e clients.
 */
export interface SyncChangeInput {
  entity_type: string;
  entity_id: string;
  action: (typeof SYNC_ACTIONS)[number];
  data?: Record<string, unknown>;
  version?: number;
  client_timestamp: string;
  change_id?: string;
}
