import {
  ConflictResolver,
  createEntity,
  Decision,
  EntityState,
  ResolveContext,
  sameValue,
  serverWins,
  SyncAction,
  SyncChange,
  SyncEntity,
  validateWithDto,
  ValidationResult,
} from '@app/sync-contract';
import { CreatePointsLedgerDto, POINTS_LEDGER_DEFAULTS } from './dto/points-ledger-data.dto';

/**
 * Append-only (rule 6): a new id is created; the same create again (a replay with the same
 * data) is applied without a write; any other change loses as `Immutable`.
 */
@SyncEntity('points_ledger')
export class PointsLedgerConflictResolver implements ConflictResolver {
  readonly table = 'points_ledger';
  readonly lane = 2;
  readonly versioned = false;
  readonly serverOwned = true;

  validate(action: Exclude<SyncAction, 'delete'>, data: unknown): ValidationResult {
    // Only a create can succeed; an update is refused by the rules, whatever its data.
    return action === 'create' ? validateWithDto(CreatePointsLedgerDto, data, POINTS_LEDGER_DEFAULTS) : { ok: true, data: {} };
  }

  resolve(current: EntityState | undefined, change: SyncChange, _ctx?: ResolveContext): Decision {
    if (change.action !== 'create') return serverWins('Immutable');
    if (!current) return createEntity(change.data!, change.clientUs);
    if (!current.deleted && sameValue(current.data, change.data)) return { kind: 'apply', basedOnCurrent: true };
    return serverWins('Immutable');
  }
}
