/**
 * @jest-environment jsdom
 */
import { TextEncoder } from 'node:util';
import { act, render, screen } from '@testing-library/react';
import { createElement as h, StrictMode, useEffect } from 'react';
import { MemoryStorage } from '../memory-storage.js';
import { pagedServer, serverTask } from '../fake-server.test-helpers.js';
import { StoredState } from '../storage.js';
import { SyncClientOptions } from '../sync-client.options.js';
import { sharedClient } from '../shared-clients.js';
import { SyncProvider, useEntity, useMutation, useQuery, useSyncStatus } from './index.js';

// jsdom has no TextEncoder (browsers and Node do); the client measures bodies with it.
globalThis.TextEncoder ??= TextEncoder as typeof globalThis.TextEncoder;

/** Counts loads: each SyncClient start() loads its storage once. */
class CountingStorage extends MemoryStorage {
  loads = 0;
  override load(): Promise<StoredState> {
    this.loads += 1;
    return super.load();
  }
}

const task = (id: string, title: string, status = 'open') => serverTask(id, { title, status });

let commits = 0;
let mutations: ReturnType<typeof useMutation>;

function OpenTasks() {
  const rows = useQuery('task', { where: { status: 'open' }, orderBy: 'title' });
  const first = useEntity('task', 'b');
  const status = useSyncStatus();
  mutations = useMutation();
  useEffect(() => {
    commits += 1;
  }, [rows]);
  return h(
    'div',
    null,
    h('ul', null, ...rows.map((t) => h('li', { key: t.id }, t.data.title))),
    h('p', { 'data-testid': 'b' }, first?.data.title ?? '-'),
    h('p', { 'data-testid': 'pending' }, String(status.pending)),
  );
}

/** The root tsconfig has no DOM lib (the service's code must not see one): read text untyped. */
const text = (el: unknown) => (el as { textContent: string | null }).textContent;
const settle = () => act(() => new Promise((r) => setTimeout(r, 20)));
const titles = () => screen.queryAllByRole('listitem').map(text);

describe('the React binding (jsdom)', () => {
  it('under StrictMode one client per storage; useQuery shows local edits and sync pages, one commit per page', async () => {
    const storage = new CountingStorage();
    const server = pagedServer();
    const options: SyncClientOptions = {
      baseUrl: 'http://test',
      deviceId: 'd1',
      getToken: () => 't',
      storage,
      fetch: server.fetch,
      logger: null,
    };
    server.pages.push([task('b', 'Bins'), task('a', 'Apples'), task('x', 'Done already', 'done')]);
    const view = render(h(StrictMode, null, h(SyncProvider, { options, live: false }, h(OpenTasks))));
    await settle();
    expect(storage.loads).toBe(1);
    const client = sharedClient(options);
    expect(titles()).toEqual(['Apples', 'Bins']);

    let outcome!: Promise<unknown>;
    act(() => {
      outcome = mutations.create('task', 'c', { title: 'Cake' });
    });
    await settle();
    expect(titles()).toEqual(['Apples', 'Bins', 'Cake']);
    expect(text(screen.getByTestId('pending'))).toBe('1');

    server.pages.push([task('d', 'Dates'), task('e', 'Eggs'), task('f', 'Flour'), task('y', 'Done too', 'done')]);
    const before = commits;
    await act(() => client.sync());
    expect(commits).toBe(before + 1);
    expect(titles()).toEqual(['Apples', 'Bins', 'Cake', 'Dates', 'Eggs', 'Flour']);
    await expect(outcome).resolves.toMatchObject({ entity_id: 'c', status: 'applied' });
    expect(text(screen.getByTestId('pending'))).toBe('0');

    expect(text(screen.getByTestId('b'))).toBe('Bins');
    await act(async () => {
      await client.update('task', 'b', { title: 'Bins out' });
    });
    expect(text(screen.getByTestId('b'))).toBe('Bins out');

    view.unmount();
    await settle();
    await expect(client.sync()).rejects.toThrow('stopped');
    expect(sharedClient(options)).not.toBe(client);
  });

  it('useSyncClient outside a provider says what is missing', () => {
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(() => render(h(OpenTasks))).toThrow('no <SyncProvider>');
    quiet.mockRestore();
  });
});
