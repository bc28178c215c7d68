import { GroupSession, CommitQueue, Settled } from './commit-queue';

/** A controllable run: each call waits for the test to grant the lock, then to finish. */
function harness(max = 8) {
  const runs: {
    session: GroupSession<string>;
    grant(locked: boolean): void;
    finish(answer?: (items: string[]) => Settled<string>[]): Promise<void>;
    taken?: string[];
  }[] = [];
  const groups = new CommitQueue<string, string>(
    (session) =>
      new Promise<Settled<string>[]>((resolve, reject) => {
        let granted: (locked: boolean) => void = () => undefined;
        const lock = new Promise<boolean>((r) => (granted = r));
        const run = {
          session,
          grant: (locked: boolean) => granted(locked),
          taken: undefined as string[] | undefined,
          finish: async (answer?: (items: string[]) => Settled<string>[]) => {
            const locked = await lock;
            if (!locked) return reject(new Error('connection lost'));
            const items = (run.taken ??= session.take());
            resolve(answer ? answer(items) : items.map((i) => ({ value: `done ${i}` })));
            await new Promise((r) => setImmediate(r));
          },
        };
        runs.push(run);
        void lock.then((locked) => {
          if (!locked) return;
          session.locked();
          run.taken = session.take();
        });
      }),
    max,
  );
  return { groups, runs };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CommitQueue', () => {
  it('a lone request runs at once, in a group of its own', async () => {
    const { groups, runs } = harness();
    const answer = groups.submit('f1', 'a');
    await tick();
    expect(runs).toHaveLength(1);
    runs[0].grant(true);
    await runs[0].finish();
    await expect(answer).resolves.toBe('done a');
  });

  it('requests arriving while a group holds the lock run together as the next group, in arrival order', async () => {
    const { groups, runs } = harness();
    const first = groups.submit('f1', 'a');
    await tick();
    runs[0].grant(true);
    await tick();
    const later = ['b', 'c', 'd'].map((i) => groups.submit('f1', i));
    await tick();
    expect(runs).toHaveLength(1);
    expect(groups.pending('f1')).toBe(4);
    await runs[0].finish();
    await expect(first).resolves.toBe('done a');
    await tick();
    expect(runs).toHaveLength(2);
    runs[1].grant(true);
    await runs[1].finish();
    expect(runs[1].taken).toEqual(['b', 'c', 'd']);
    await expect(Promise.all(later)).resolves.toEqual(['done b', 'done c', 'done d']);
    expect(groups.pending('f1')).toBe(0);
  });

  it('other families never wait for each other', async () => {
    const { groups, runs } = harness();
    void groups.submit('f1', 'a');
    void groups.submit('f2', 'b');
    await tick();
    expect(runs).toHaveLength(2);
  });

  it('two requests that both find the lock held elsewhere each ask for it; the first to get it takes the other along', async () => {
    const { groups, runs } = harness();
    const a = groups.submit('f1', 'a');
    await tick();
    const b = groups.submit('f1', 'b');
    // b waits briefly for a's lock attempt, then asks the database too.
    await new Promise((r) => setTimeout(r, 80));
    expect(runs).toHaveLength(2);
    runs[0].grant(true);
    await runs[0].finish();
    expect(runs[0].taken).toEqual(['a', 'b']);
    await expect(Promise.all([a, b])).resolves.toEqual(['done a', 'done b']);
    runs[1].grant(true);
    await runs[1].finish();
    expect(runs[1].taken).toEqual([]);
  });

  it('a request arriving while our group asks for a free lock is taken along without touching the database', async () => {
    const { groups, runs } = harness();
    const a = groups.submit('f1', 'a');
    await tick();
    const b = groups.submit('f1', 'b');
    await tick();
    runs[0].grant(true);
    await runs[0].finish();
    await expect(Promise.all([a, b])).resolves.toEqual(['done a', 'done b']);
    await new Promise((r) => setTimeout(r, 80));
    expect(runs).toHaveLength(1);
  });

  it('a failed group answers every request of it with the error; the next group runs', async () => {
    const { groups, runs } = harness();
    const a = groups.submit('f1', 'a');
    await tick();
    runs[0].grant(true);
    await tick();
    const b = groups.submit('f1', 'b').catch((error: Error) => error.message);
    const c = groups.submit('f1', 'c').catch((error: Error) => error.message);
    await runs[0].finish((items) => items.map(() => ({ value: 'x' })));
    await expect(a).resolves.toBe('x');
    await tick();
    runs[1].grant(false);
    await runs[1].finish();
    await expect(b).resolves.toBe('connection lost');
    await expect(c).resolves.toBe('connection lost');
  });

  it('one request of a group may get its own error while the others get their values', async () => {
    const { groups, runs } = harness();
    const a = groups.submit('f1', 'a').catch((error: Error) => error.message);
    await tick();
    const b = groups.submit('f1', 'b');
    await tick();
    runs[0].grant(true);
    await runs[0].finish(() => [{ error: new Error('not a member') }, { value: 'fine' }]);
    await expect(a).resolves.toBe('not a member');
    await expect(b).resolves.toBe('fine');
  });

  it('at most maxItems requests share a group; the rest run next', async () => {
    const { groups, runs } = harness(2);
    void groups.submit('f1', 'a');
    await tick();
    runs[0].grant(true);
    await tick();
    const rest = ['b', 'c', 'd'].map((i) => groups.submit('f1', i));
    await runs[0].finish();
    await tick();
    runs[1].grant(true);
    await runs[1].finish();
    expect(runs[1].taken).toEqual(['b', 'c']);
    await tick();
    runs[2].grant(true);
    await runs[2].finish();
    expect(runs[2].taken).toEqual(['d']);
    await expect(Promise.all(rest)).resolves.toEqual(['done b', 'done c', 'done d']);
  });
});
