/**
 * What a sync commit announces to every instance (realtime pokes): PostgreSQL delivers a
 * NOTIFY issued inside a transaction only if and when that transaction commits, in commit
 * order. Small on purpose (the payload limit is 8000 bytes; a device id is at most 128
 * characters): the family, its position after the commit (the `last_sync_at` value), and
 * the device that made it.
 */
export const COMMIT_CHANNEL = 'sync_commit';

export interface CommitNotice {
  /** family id */
  f: string;
  /** the family's position after the commit, as `last_sync_at` */
  p: string;
  /** device id of the committing request */
  d: string;
}
