import { EntityData, FieldClocks } from './sync-change';

export type ConflictResolution = 'server_wins' | 'merged' | 'delete_wins' | 'done_wins';

/** The state a change leads to: written with version + 1 unless it equals the current state. */
export interface NextState {
  data: EntityData | null;
  fieldClocks: FieldClocks;
  deleted: boolean;
}

/**
 * `overridden` (PROTOCOL 2.12): the server's values a family policy (`keep_device`) let the
 * change overwrite, field by field: the conflict inbox keeps them (reason `family policy`).
 *
 * What a resolver decides for one change. The DeltaService turns it into the response
 * entry and the row to write; the resolver never does I/O.
 */
export type Decision =
  /** Fully applied. `next` absent: nothing to write (replay of the same data, delete of an unknown id). */
  | { kind: 'apply'; next?: NextState; basedOnCurrent: boolean; overridden?: EntityData }
  /** Part applied: `rejectedFields` lost to the server. */
  | { kind: 'merge'; next: NextState; rejectedFields: string[]; reason: string; overridden?: EntityData }
  /** Nothing applied. */
  | { kind: 'conflict'; resolution: Exclude<ConflictResolution, 'merged'>; reason: string; rejectedFields?: string[] }
  | { kind: 'error'; code: SyncChangeErrorCode; message: string };

export enum SyncChangeErrorCode {
  Validation = 'validation',
  UnknownEntityType = 'unknown_entity_type',
  NotFound = 'not_found',
}
