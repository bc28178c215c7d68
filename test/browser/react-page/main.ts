// A tiny React to-do page for the browser test (issue 30): open tasks, live, under
// StrictMode. Bundled by esbuild in react-page.browser-spec.ts; no JSX, so no JSX build step.
import { createElement as h, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { MemoryStorage, StoredState, SyncClientOptions } from '@delta-sync/client';
import { SyncProvider, useQuery, useSyncStatus } from '@delta-sync/client/react';

/** Counts loads: each client's start() loads its storage once, so the page shows how many clients ran. */
class CountingStorage extends MemoryStorage {
  loads = 0;
  override load(): Promise<StoredState> {
    this.loads += 1;
    return super.load();
  }
}

const params = new URLSearchParams(location.search);
const storage = new CountingStorage();
const options: SyncClientOptions = {
  baseUrl: location.origin,
  deviceId: params.get('device') ?? 'browser',
  getToken: () => params.get('token') ?? '',
  storage,
};

function OpenTasks() {
  const tasks = useQuery('task', { where: { status: 'open' }, orderBy: 'title' });
  const status = useSyncStatus();
  return h(
    'main',
    null,
    h('h1', null, 'Open tasks'),
    h('ul', null, ...tasks.map((t) => h('li', { key: t.id, className: 'task' }, t.data.title))),
    h('p', { id: 'status' }, `live: ${status.live} · ${status.state} · pending ${status.pending}`),
    h('p', { id: 'clients' }, `clients started: ${storage.loads}`),
  );
}

createRoot(document.getElementById('root')!).render(h(StrictMode, null, h(SyncProvider, { options }, h(OpenTasks))));
