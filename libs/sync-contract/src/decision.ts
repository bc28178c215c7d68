import { EntityData, FieldClocks } from './sync-change';

export type ConflictResolution = 'server_wins' | 'merged' | 'delete_wins' | 'done_wins';

/** The state a change leads to: written with version + 1 unless it equals the current state. */
export interface NextState {
  data: EntityData | null;
  fieldClocks: FieldClocks;
  deleted: boolean;
}

/**
 * What a resolver decides for one change. The DeltaService turns it into the response
 * entry and the row to write; the resolver never does I/O.
 */
export type Decision =
  /** Fully applied. `next` absent: nothing to write (replay of the same data, delete of an unknown id). */
  | { kind: 'apply'; next?: NextState; basedOnCurrent: boolean }
  /** Part applied: `rejectedFields` lost to the server. */
  | { kind: 'merge'; next: NextState; rejectedFields: string[]; reason: string }
  /** Nothing applied. */
  | { kind: 'conflict'; resolution: Exclude<ConflictResolution, 'merged'>; reason: string; rejectedFields?: string[] }
  | { kind: 'error'; code: SyncChangeErrorCode; message: string };

export enum SyncChangeErrorCode {
  Validation = 'validation',
  UnknownEntityType = 'unknown_entity_type',
  NotFound = 'not_found',
}
