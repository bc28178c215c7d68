import { TabCoordinator, TabMessage } from './tab-coordinator.js';

/** The Web Locks API's exclusive-lock semantics, in process (Node has no navigator.locks). */
class InProcessLocks {
  private readonly held = new Set<string>();
  private readonly queue = new Map<string, (() => void)[]>();
  async request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void> {
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      await new Promise<void>((go) => this.queue.set(name, [...(this.queue.get(name) ?? []), go]));
    }
    this.held.add(name);
    try {
      await callback({ name });
    } finally {
      this.held.delete(name);
      this.queue.get(name)?.shift()?.();
    }
  }
}

describe('TabCoordinator', () => {
  const g = globalThis as unknown as { navigator?: unknown; document?: unknown };
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  afterEach(() => {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete g.navigator;
    delete g.document;
  });

  const tab = (name: string, log: string[], messages: TabMessage[] = []) =>
    new TabCoordinator({ name, onLeadership: (l) => log.push(l ? 'leader' : 'follower'), onMessage: (m) => messages.push(m) });

  it('with Web Locks: one leader; when it stops the waiting tab leads; messages reach the other tabs only', async () => {
    Object.defineProperty(globalThis, 'navigator', { value: { locks: new InProcessLocks() }, configurable: true });
    // The SDK takes the Web Locks path in a browser only (a document exists).
    g.document = {};
    const [logA, logB] = [[] as string[], [] as string[]];
    const got: TabMessage[] = [];
    const a = tab('locks-1', logA);
    const b = tab('locks-1', logB, got);
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    a.post({ kind: 'outbox', from: a.id, keys: ['k'] });
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([{ kind: 'outbox', from: a.id, keys: ['k'] }]);
    await a.stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(b.isLeader).toBe(true);
    expect(logB).toEqual(['leader']);
    await b.stop();
  });

  it('without Web Locks or a lease, a tab leads alone', async () => {
    const log: string[] = [];
    const only = tab('alone-1', log);
    await only.start();
    expect(log).toEqual(['leader']);
    await only.stop();
  });
});
