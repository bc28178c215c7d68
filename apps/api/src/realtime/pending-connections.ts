/**
 * Connections per client address that have not authenticated yet (PROTOCOL 2.13): an address
 * already holding `max` is refused more. `add` returns the release to call once the
 * connection authenticated or closed, whichever comes first (calling it again does nothing).
 */
export class PendingConnections {
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly max: number) {}

  add(address: string): (() => void) | undefined {
    const count = this.byAddress.get(address) ?? 0;
    if (count >= this.max) return undefined;
    this.byAddress.set(address, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    };
  }

  count(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  /** Addresses holding at least one pending connection (nothing is kept for the others). */
  get addresses(): number {
    return this.byAddress.size;
  }
}
