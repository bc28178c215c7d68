import { OutgoingChange } from './types.js';

/** PROTOCOL 2.9's default lane of each entity type (0 first); a type not listed is in lane 1. */
export const DEFAULT_TYPE_LANES: Readonly<Record<string, 0 | 1 | 2>> = {
  task: 0,
  event: 0,
  conflict: 1,
  user_streak: 1,
  badge: 1,
  points_ledger: 2,
};

/**
 * The outbox in the order it is sent with lanes on: lane 0 first, then 1, then 2, each lane
 * in the order its changes were made. One entity's changes are all in its type's lane, so
 * they keep their order (a stable sort).
 */
export function byLane(outbox: readonly OutgoingChange[], lanes: Readonly<Record<string, number>> = DEFAULT_TYPE_LANES): OutgoingChange[] {
  const lane = (c: OutgoingChange) => lanes[c.entity_type] ?? 1;
  return [...outbox].sort((a, b) => lane(a) - lane(b));
}
