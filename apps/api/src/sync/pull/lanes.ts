import { Lane, LANES, microsToIso } from '@app/sync-contract';
import type { LaneCursors } from '@delta-sync/client/wire';

/** One lane of a page: its last position on the page, and its first one still to come (null: none). */
export interface LaneEdge {
  lastUs: number | null;
  nextUs: number | null;
}

/** Where a device stands after a page with lanes (PROTOCOL 2.9). */
export interface LaneStand {
  /** `last_sync_at`: every change of every lane at or below it is delivered. */
  watermarkUs: number;
  /** The lanes delivered beyond the watermark, and how far (the answer's `lanes`). */
  cursors: LaneCursors;
  /** Lanes with changes still to come, and the position after which they start (for `backlog`). */
  behind: Partial<Record<Lane, number>>;
}

/**
 * PROTOCOL 2.9, after a page: a lane with nothing more to come is delivered up to the
 * family's position the page was read at (`positionUs`); one with more, up to its last
 * position on the page, or just below its first change still to come when none of it was on
 * the page (nothing of that lane lies between its cursor and that change). The watermark is
 * the lowest of those; lanes above it are listed.
 */
export function laneStand(edges: Record<Lane, LaneEdge>, positionUs: number): LaneStand {
  const delivered = (edge: LaneEdge) => (edge.nextUs === null ? positionUs : (edge.lastUs ?? edge.nextUs - 1));
  const watermarkUs = Math.min(...LANES.map((lane) => delivered(edges[lane])));
  const cursors: LaneCursors = {};
  const behind: Partial<Record<Lane, number>> = {};
  for (const lane of LANES) {
    const us = delivered(edges[lane]);
    if (us > watermarkUs) cursors[`${lane}`] = microsToIso(us);
    if (edges[lane].nextUs !== null) behind[lane] = us;
  }
  return { watermarkUs, cursors, behind };
}
