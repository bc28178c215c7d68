/**
 * @jest-environment jsdom
 */
import { TextEncoder } from 'node:util';
import { createApp, defineComponent, h, nextTick } from 'vue';
import { MemoryStorage } from '../memory-storage.js';
import { sharedClient } from '../shared-clients.js';
import { SyncClientOptions } from '../sync-client.options.js';
import { Mutations } from '../mutations.js';
import { SyncProvider, useEntity, useMutation, useQuery, useSyncStatus } from './index.js';

// jsdom has no TextEncoder (browsers and Node do); the client measures bodies with it.
globalThis.TextEncoder ??= TextEncoder as typeof globalThis.TextEncoder;

const settle = () => new Promise((r) => setTimeout(r, 20)).then(() => nextTick());

describe('the Vue binding (jsdom)', () => {
  it('SyncProvider + useQuery/useEntity/useSyncStatus follow local edits; unmount stops the client', async () => {
    const options: SyncClientOptions = {
      baseUrl: 'http://test',
      deviceId: 'd1',
      getToken: () => 't',
      storage: new MemoryStorage(),
      fetch: () => Promise.reject(new TypeError('offline')),
      retry: { maxAttempts: 1 },
      logger: null,
    };
    let mutations!: Mutations;
    let renders = 0;
    const OpenTasks = defineComponent({
      setup() {
        const rows = useQuery('task', () => ({ where: { status: 'open' as const }, orderBy: 'title' as const }));
        const b = useEntity('task', 'b');
        const status = useSyncStatus();
        mutations = useMutation();
        return () => {
          renders += 1;
          return h('div', [
            h(
              'ul',
              rows.value.map((t) => h('li', { key: t.id }, t.data.title)),
            ),
            h('p', { id: 'b' }, b.value?.data.title ?? '-'),
            h('p', { id: 'pending' }, String(status.value.pending)),
          ]);
        };
      },
    });
    // The root tsconfig has no DOM lib (the service's code must not see one): the element untyped.
    type El = { textContent: string | null; querySelector(s: string): El; querySelectorAll(s: string): El[] };
    const el = (globalThis as unknown as { document: { createElement(tag: string): El } }).document.createElement('div');
    const app = createApp({ render: () => h(SyncProvider, { options, live: false }, () => h(OpenTasks)) });
    app.mount(el as never);
    await settle();
    const titles = () => [...el.querySelectorAll('li')].map((li) => li.textContent);
    expect(titles()).toEqual([]);

    void mutations.create('task', 'b', { title: 'Bins' });
    void mutations.create('task', 'a', { title: 'Apples' });
    void mutations.create('task', 'x', { title: 'Done', status: 'done' });
    await settle();
    expect(titles()).toEqual(['Apples', 'Bins']);
    expect(el.querySelector('#b').textContent).toBe('Bins');
    expect(el.querySelector('#pending').textContent).toBe('3');
    const before = renders;
    void mutations.update('task', 'x', { title: 'Still done' });
    await settle();
    expect(titles()).toEqual(['Apples', 'Bins']);
    expect(renders).toBe(before); // neither the rows nor the status changed

    const client = sharedClient(options);
    app.unmount();
    await settle();
    await expect(client.sync()).rejects.toThrow('stopped');
  });
});
