import { ServerOnlyResolver, SyncEntity } from '@app/sync-contract';

/** Badges are awarded by the server only (PROTOCOL 2.3): every client change loses (rule 6). */
@SyncEntity('badge')
export class BadgeConflictResolver extends ServerOnlyResolver {
  readonly table = 'badges';
  readonly lane = 1;
  protected readonly reason = 'Immutable (server only)';
}
