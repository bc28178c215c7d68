import type { EntityData, SyncAction } from './sync-change';

/** The entity type of the conflict inbox (PROTOCOL 2.8). */
export const CONFLICT_ENTITY_TYPE = 'conflict';

/** A client change that was merged or lost (PROTOCOL 2.8): what the inbox keeps of it. */
export interface LostChange {
  entityType: string;
  entityId: string;
  action: SyncAction;
  /** The fields the client sent (after validation defaults of a create, only those sent). */
  sent: EntityData | undefined;
  resolution: string;
  reason: string;
  /** The fields that lost; undefined: the whole change lost. */
  rejectedFields?: readonly string[];
  /** The entity as the batch left it (null: deleted or never existed). */
  serverData: EntityData | null;
  clientTimestamp: string;
}

export interface InboxContext {
  userId: string;
  deviceId: string;
  /** Commit time of the request, ISO (the same kind of value as `last_sync_at`). */
  at: string;
}

/**
 * The data of one `conflict` entry: `rejected` = the values the client sent that lost,
 * `server` = the values kept for those fields. A lost delete keeps nothing of its own, so its
 * `server` is the whole entity that stayed. Pure.
 */
export function conflictRecord(lost: LostChange, ctx: InboxContext): EntityData {
  const sent = lost.sent ?? {};
  const rejectedKeys = lost.rejectedFields ?? Object.keys(sent);
  const rejected = Object.fromEntries(rejectedKeys.filter((k) => Object.hasOwn(sent, k)).map((k) => [k, sent[k]]));
  const server =
    lost.action === 'delete'
      ? { ...(lost.serverData ?? {}) }
      : Object.fromEntries(rejectedKeys.map((k) => [k, lost.serverData && Object.hasOwn(lost.serverData, k) ? lost.serverData[k] : null]));
  return {
    entityType: lost.entityType,
    entityId: lost.entityId,
    action: lost.action,
    userId: ctx.userId,
    deviceId: ctx.deviceId,
    resolution: lost.resolution,
    reason: lost.reason,
    rejected,
    server,
    clientTimestamp: lost.clientTimestamp,
    at: ctx.at,
  };
}
