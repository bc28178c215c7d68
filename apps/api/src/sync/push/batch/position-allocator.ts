import type { FamilyClock } from './batch.types';

/** Hands out the batch's commit positions: strictly after the family's last one and not before now. */
export class PositionAllocator {
  private nextUs: number;
  private readonly startUs: number;

  constructor(private readonly clock: FamilyClock) {
    this.nextUs = this.startUs = Math.max(clock.nowUs, clock.lastUs + 1);
  }

  next(): number {
    return this.nextUs++;
  }

  /** The family's position after the batch (unchanged when nothing was written). */
  last(): number {
    return this.nextUs === this.startUs ? this.clock.lastUs : this.nextUs - 1;
  }
}
