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
  /** The same in µs. */
  cursorsUs: Partial<Record<Lane, number>>;
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
  const cursorsUs: Partial<Record<Lane, number>> = {};
  const behind: Partial<Record<Lane, number>> = {};
  for (const lane of LANES) {
    const us = delivered(edges[lane]);
    if (us > watermarkUs) {
      cursors[`${lane}`] = microsToIso(us);
      cursorsUs[lane] = us;
    }
    if (edges[lane].nextUs !== null) behind[lane] = us;
  }
  return { watermarkUs, cursors, cursorsUs, behind };
}

/**
 * A request's or an answer's lane cursors above its watermark as one comparable text ("" for
 * none): a device's page cursor is its watermark and these, so that a device resending an
 * older request after a lost answer is not taken for one continuing the answer it never got.
 */
export function laneKey(lanes: Partial<Record<Lane, number | null>> | undefined, watermarkUs: number | null): string {
  return LANES.flatMap((lane) => {
    const us = lanes?.[lane];
    return us !== undefined && us !== null && (watermarkUs === null || us > watermarkUs) ? [`${lane}:${us}`] : [];
  }).join(',');
}
