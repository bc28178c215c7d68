/**
 * The `data` of each entity type of the service (PROTOCOL 2.2 and 2.8), as the replica holds
 * it after a create (the defaults filled in). Pure types, no imports, beside wire.ts: the
 * service's DTOs validate the same fields. Keep them in step when a type gains a field.
 */

/** A date (`2025-11-11`) or a date-time with a zone, as ISO text (PROTOCOL 2.2). */
export type IsoDate = string;

/** `task`: versioned; a completion wins over other edits (PROTOCOL 2.1, done wins). */
export interface TaskData {
  title: string;
  desc: string | null;
  status: 'open' | 'in_progress' | 'done';
  assignees: string[];
  due: IsoDate | null;
  points: number;
  completedAt: IsoDate | null;
}

/** `event`: last writer wins per field. */
export interface EventData {
  title: string;
  description: string | null;
  start: IsoDate;
  end: IsoDate | null;
  attendees: string[];
}

/** `points_ledger`: append-only entries. */
export interface PointsLedgerData {
  userId: string;
  delta: number;
  reason: string | null;
  taskId: string | null;
}

/** `user_streak` (id = userId): computed by the server (PROTOCOL 2.3). */
export interface UserStreakData {
  currentStreak: number;
  longestStreak: number;
}

/** `badge` (id = `userId:code`): awarded by the server only. */
export interface BadgeData {
  userId: string;
  code: string;
  awardedAt: IsoDate;
}

/** `conflict`: the server's record of a conflict or merge (PROTOCOL 2.8); clients may only delete one. */
export interface ConflictData {
  entityType: string;
  entityId: string;
  userId: string;
  deviceId: string;
  resolution: string;
  reason: string;
  rejected: Record<string, unknown>;
  server: Record<string, unknown>;
  clientTimestamp: string;
  at: IsoDate;
}

/** Each entity type's name and its `data`. */
export interface EntityTypes {
  task: TaskData;
  event: EventData;
  points_ledger: PointsLedgerData;
  user_streak: UserStreakData;
  badge: BadgeData;
  conflict: ConflictData;
}

/** The entity types `query` and `mutate` take. */
export type EntityTypeName = keyof EntityTypes;
