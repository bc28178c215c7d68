import { ConflictResolver, Decision, serverWins, SyncEntity, ValidationResult } from '@app/sync-contract';

/** Streaks are calculated by the server (SPEC 2.3): every client change loses (rule 6). */
@SyncEntity('user_streak')
export class UserStreakConflictResolver implements ConflictResolver {
  readonly table = 'user_streaks';
  readonly versioned = false;

  validate(): ValidationResult {
    return { ok: true, data: {} };
  }

  resolve(): Decision {
    return serverWins('Server calculated');
  }
}
