import { ServerOnlyResolver, SyncEntity } from '@app/sync-contract';

/** Streaks are calculated by the server (PROTOCOL 2.3): every client change loses (rule 6). */
@SyncEntity('user_streak')
export class UserStreakConflictResolver extends ServerOnlyResolver {
  readonly table = 'user_streaks';
  readonly lane = 1;
  protected readonly reason = 'Server calculated';
}
