import {
  CONFLICT_ENTITY_TYPE,
  ConflictResolver,
  Decision,
  deleteWins,
  EntityState,
  serverWins,
  SyncChange,
  SyncEntity,
  ValidationResult,
} from '@app/sync-contract';

/**
 * The conflict inbox (PROTOCOL 2.8): entries are written by the server only. A client `delete`
 * dismisses one (a tombstone, as for any type); any other client change loses as `Immutable`.
 */
@SyncEntity(CONFLICT_ENTITY_TYPE)
export class ConflictConflictResolver implements ConflictResolver {
  readonly table = 'conflicts';
  readonly lane = 1;
  readonly versioned = false;

  validate(): ValidationResult {
    // Whatever the data, the rules refuse the change.
    return { ok: true, data: {} };
  }

  resolve(current: EntityState | undefined, change: SyncChange): Decision {
    return change.action === 'delete' ? deleteWins(current) : serverWins('Immutable');
  }
}
