import { SyncHttpError } from './delta-transport.js';
import { defaultFetch, FetchLike } from './platform.js';
import { SyncClientOptions } from './sync-client.options.js';
import { DeviceHistoryEntry } from './types.js';

/** The URL of a service path (`/sync/...`) under `baseUrl`. */
export const serviceUrl = (opts: Pick<SyncClientOptions, 'baseUrl'>, path: string): string => `${opts.baseUrl.replace(/\/$/, '')}${path}`;

/** `options.fetch`, else the platform's; throws where there is neither. */
export function serviceFetch(opts: Pick<SyncClientOptions, 'fetch'>): FetchLike {
  const fetchFn = opts.fetch ?? defaultFetch();
  if (!fetchFn) throw new Error('no fetch on this platform: pass options.fetch');
  return fetchFn;
}

/** This device's latest outcomes as the server recorded them (PROTOCOL 2.8), newest first. */
export async function fetchDeviceHistory(opts: SyncClientOptions, limit: number): Promise<DeviceHistoryEntry[]> {
  const fetchFn = serviceFetch(opts);
  const url = serviceUrl(opts, `/sync/devices/${encodeURIComponent(opts.deviceId)}/history?limit=${limit}`);
  const token = await opts.getToken({ afterUnauthorized: false });
  const res = await fetchFn(url, { method: 'GET', headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new SyncHttpError(`GET device history: HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
  return JSON.parse(text) as DeviceHistoryEntry[];
}
