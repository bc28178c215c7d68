import { IndexedDbStorage, SyncClient } from '@delta-sync/client';
import { renderBoard } from './board';
import { h, replaceChildren } from './dom';
import { renderInbox } from './inbox';
import { DeviceState, renderDevice, renderFamily } from './panels';
import { apiBase, cachedToken, currentToken, deviceId, DemoToken, fetchToken, isOnline, member, MEMBERS, setOnline } from './session';

const $ = (id: string) => document.getElementById(id) as HTMLElement;

const state: DeviceState = { deviceId: deviceId(), member, online: isOnline(), status: null, lastSuccess: null, error: null };
const lastSuccessKey = `delta-sync-demo:${apiBase}:${member}:last-sync`;
state.lastSuccess = Number(localStorage.getItem(lastSuccessKey)) || null;

function banner(text: string | null, kind: 'error' | 'info' = 'info'): void {
  const el = $('banner');
  el.hidden = text === null;
  el.className = `banner ${kind}`;
  el.textContent = text ?? '';
  el.onclick = () => (el.hidden = true);
  el.title = 'Click to close';
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function memberPicker(): void {
  const select = $('member') as HTMLSelectElement;
  replaceChildren(select, ...MEMBERS.map((m) => h('option', { value: m, selected: m === member }, m)));
  select.onchange = () => {
    const url = new URL(location.href);
    url.searchParams.set('member', select.value);
    location.href = url.toString();
  };
}

/** Online: a fresh token (the cached one if the service cannot be reached); offline: the cached one. */
async function session(): Promise<DemoToken> {
  const cached = cachedToken();
  if (!state.online && cached) return cached;
  try {
    return await fetchToken();
  } catch (error) {
    if (cached) return cached;
    throw error;
  }
}

async function main(): Promise<void> {
  memberPicker();
  let token: DemoToken;
  try {
    token = await session();
  } catch (error) {
    state.error = message(error);
    state.status = { state: 'offline', pending: 0, lastSyncAt: null, backlog: null, live: 'off', tab: 'only' };
    banner(`Cannot start: ${message(error)}`, 'error');
    renderDevice($('device'), state, () => location.reload());
    return;
  }

  const client = new SyncClient({
    baseUrl: apiBase,
    deviceId: state.deviceId,
    getToken: async ({ afterUnauthorized }) => (await currentToken(afterUnauthorized)).token,
    storage: new IndexedDbStorage({ name: `delta-sync-demo-${token.familyId}-${member}` }),
    retry: { maxAttempts: 4, maxMs: 4000 },
  });
  const report = (error: unknown) => banner(message(error), 'error');

  let scheduled = false;
  const render = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      renderBoard($('board'), client, report);
      renderInbox($('inbox'), client, state.deviceId, report);
      renderFamily($('family'), client);
      renderDevice($('device'), state, switchOnline);
    });
  };

  const switchOnline = (on: boolean) => {
    state.online = on;
    setOnline(on);
    client.live(on);
    if (on) client.sync().catch(() => undefined);
    render();
  };

  client.on('change', render);
  client.on('status', (s) => {
    if (state.status?.state !== 'idle' && s.state === 'idle' && state.status !== null) {
      state.lastSuccess = Date.now();
      localStorage.setItem(lastSuccessKey, String(state.lastSuccess));
      state.error = null;
    }
    state.status = s;
    render();
  });
  client.on('error', (e) => {
    if (e.kind === 'sync') state.error = `Sync failed: ${e.error.message}`;
    else banner(`The server refused a change of ${e.change.entity_type} ${e.change.entity_id}: ${e.error.message}`, 'error');
    render();
  });
  client.on('conflict', (c) => {
    const name = String(client.get(c.entity_type, c.entity_id)?.data.title ?? c.entity_id);
    banner(
      `Conflict on ${c.entity_type} “${name}”: ${c.rejected_fields.join(', ') || 'the change'} lost (${c.resolution}). See the inbox.`,
    );
  });

  await client.start();
  render();
  if (state.online) switchOnline(true);
  (window as unknown as { demo: unknown }).demo = { client, state };
}

void main();
