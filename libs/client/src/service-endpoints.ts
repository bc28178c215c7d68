import { SyncHttpError } from './delta-transport.js';
import { defaultFetch, FetchLike } from './platform.js';
import { SyncClientOptions } from './sync-client.options.js';
import { DeviceHistoryEntry, Explanation } from './types.js';

/** The URL of a service path (`/sync/...`) under `baseUrl`. */
export const serviceUrl = (opts: Pick<SyncClientOptions, 'baseUrl'>, path: string): string => `${opts.baseUrl.replace(/\/$/, '')}${path}`;

/** `options.fetch`, else the platform's; throws where there is neither. */
export function serviceFetch(opts: Pick<SyncClientOptions, 'fetch'>): FetchLike {
  const fetchFn = opts.fetch ?? defaultFetch();
  if (!fetchFn) throw new Error('no fetch on this platform: pass options.fetch');
  return fetchFn;
}

/** GET of a service path with the client's token; the parsed JSON body of a 200, else a SyncHttpError naming `what`. */
async function getJson<T>(opts: SyncClientOptions, path: string, what: string): Promise<T> {
  const fetchFn = serviceFetch(opts);
  const token = await opts.getToken({ afterUnauthorized: false });
  const res = await fetchFn(serviceUrl(opts, path), { method: 'GET', headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new SyncHttpError(`GET ${what}: HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
  return JSON.parse(text) as T;
}

/** This device's latest outcomes as the server recorded them (PROTOCOL 2.8), newest first. */
export function fetchDeviceHistory(opts: SyncClientOptions, limit: number): Promise<DeviceHistoryEntry[]> {
  return getJson(opts, `/sync/devices/${encodeURIComponent(opts.deviceId)}/history?limit=${limit}`, 'device history');
}

/** Whether this device has the entity's latest state on the server, and why not (PROTOCOL 2.11). */
export function fetchExplain(opts: SyncClientOptions, entityType: string, entityId: string): Promise<Explanation> {
  const q = [
    `device_id=${encodeURIComponent(opts.deviceId)}`,
    `entity_type=${encodeURIComponent(entityType)}`,
    `entity_id=${encodeURIComponent(entityId)}`,
  ];
  return getJson(opts, `/sync/explain?${q.join('&')}`, 'explain');
}
