/** The body of POST /sync/delta, as validated by `DeltaRequestValidator`. */
export interface DeltaRequest {
  device_id: string;
  last_sync_at?: string | null;
  changes?: SyncChangeInput[];
  atomic?: boolean;
  limit?: number;
}

export interface SyncChangeInput {
  entity_type: string;
  entity_id: string;
  action: 'create' | 'update' | 'delete';
  data?: Record<string, unknown>;
  version?: number;
  client_timestamp: string;
  change_id?: string;
}
