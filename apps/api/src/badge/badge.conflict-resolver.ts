import { ConflictResolver, Decision, serverWins, SyncEntity, ValidationResult } from '@app/sync-contract';

/** Badges are awarded by the server only (SPEC 2.3): every client change loses (rule 6). */
@SyncEntity('badge')
export class BadgeConflictResolver implements ConflictResolver {
  readonly table = 'badges';
  readonly versioned = false;

  validate(): ValidationResult {
    return { ok: true, data: {} };
  }

  resolve(): Decision {
    return serverWins('Immutable (server only)');
  }
}
