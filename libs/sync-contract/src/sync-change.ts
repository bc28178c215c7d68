/** Entity data on the wire and in storage: a JSON object of the type's fields. */
export type EntityData = Record<string, unknown>;

/** When each field was last written: clamped client time (or server time), in microseconds since the epoch. */
export type FieldClocks = Record<string, number>;

export type SyncAction = 'create' | 'update' | 'delete';

/** One change of a request, after envelope validation and clock clamping. */
export interface SyncChange {
  /** Position in the request's `changes`. */
  index: number;
  entityType: string;
  entityId: string;
  action: SyncAction;
  /** Validated and normalised by the type's `validate`, defaults included on create (absent for a delete). */
  data?: EntityData;
  /**
   * Only the fields the client sent (validated). A create of an id that exists is an update
   * of these fields: the create's defaults must not overwrite the server's values.
   */
  patch?: EntityData;
  version?: number;
  /** The change's `client_timestamp`, clamped to at most server-now + the allowed skew (µs). */
  clientUs: number;
}

/** The server state of one entity as the resolvers see it (the current row, or the result of earlier changes of the same batch). */
export interface EntityState {
  version: number;
  /** Null once deleted. */
  data: EntityData | null;
  fieldClocks: FieldClocks;
  deleted: boolean;
}

export interface ResolveContext {
  /** Server time of the request (µs). */
  nowUs: number;
  /**
   * PROTOCOL 2.12: the fields of this entity type for which the family chose `keep_device`:
   * under rule 4 a stale change's value wins there even when the server's is newer.
   */
  keepDevice?: ReadonlySet<string>;
}
