/**
 * What a sync commit announces to every instance (realtime pokes): PostgreSQL delivers a
 * NOTIFY issued inside a transaction only if and when that transaction commits, in commit
 * order. Small on purpose (the payload limit is 8000 bytes; a device id is at most 128
 * characters): the family, its position after the commit (the `last_sync_at` value), and
 * the device(s) whose response already carried everything up to it. A group commit answers
 * several requests at once, each pulled after the group's last write: `d` lists their devices
 * (a single device as a string, as before; no `d` at all: poke every device).
 */
export const COMMIT_CHANNEL = 'sync_commit';

export interface CommitNotice {
  /** family id */
  f: string;
  /** the family's position after the commit, as `last_sync_at` */
  p: string;
  /** device id(s) of the committing request(s): they are not poked */
  d?: string | string[];
}
