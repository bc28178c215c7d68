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

  /** PROTOCOL 2.12: a dismissal may say what the person decided; nothing else. */
  validateDelete(data: unknown): ValidationResult {
    const fields = typeof data === 'object' && data !== null && !Array.isArray(data) ? Object.keys(data) : null;
    if (fields === null) return { ok: false, message: 'data must be an object ({"decision": "kept_server" | "restored"})' };
    const extra = fields.find((f) => f !== 'decision');
    if (extra !== undefined) return { ok: false, message: `data.${extra}: a dismissal carries only a decision` };
    const { decision } = data as { decision?: unknown };
    if (decision !== undefined && decision !== 'kept_server' && decision !== 'restored')
      return { ok: false, message: 'data.decision must be kept_server or restored' };
    return { ok: true, data: decision === undefined ? {} : { decision } };
  }

  resolve(current: EntityState | undefined, change: SyncChange): Decision {
    return change.action === 'delete' ? deleteWins(current) : serverWins('Immutable');
  }
}
