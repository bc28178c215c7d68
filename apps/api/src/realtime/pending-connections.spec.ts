import { PendingConnections } from './pending-connections';

describe('PendingConnections', () => {
  it('admits up to the limit per address, then refuses; other addresses have their own count', () => {
    const pending = new PendingConnections(2);
    expect(pending.add('10.0.0.1')).toBeDefined();
    expect(pending.add('10.0.0.1')).toBeDefined();
    expect(pending.add('10.0.0.1')).toBeUndefined();
    expect(pending.add('10.0.0.2')).toBeDefined();
    expect(pending.count('10.0.0.1')).toBe(2);
    expect(pending.count('10.0.0.2')).toBe(1);
  });

  it('a released connection frees its place; releasing twice frees only one', () => {
    const pending = new PendingConnections(2);
    const first = pending.add('10.0.0.1')!;
    pending.add('10.0.0.1');
    first();
    first();
    expect(pending.count('10.0.0.1')).toBe(1);
    expect(pending.add('10.0.0.1')).toBeDefined();
    expect(pending.add('10.0.0.1')).toBeUndefined();
  });

  it('keeps nothing for an address once all its connections are released', () => {
    const pending = new PendingConnections(20);
    const releases = Array.from({ length: 20 }, () => pending.add('::1')!);
    expect(pending.addresses).toBe(1);
    for (const release of releases) release();
    expect(pending.addresses).toBe(0);
    expect(pending.count('::1')).toBe(0);
  });
});
