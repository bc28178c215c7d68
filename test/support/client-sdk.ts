import { gunzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import WebSocket from 'ws';
import {
  FetchLike,
  MemoryStorage,
  OutgoingChange,
  SyncClient,
  SyncClientOptions,
  SyncStorage,
  WebSocketConstructor,
} from '@delta-sync/client';
import { FamilyFixture } from './sync-fixtures';
import { TestApp } from './test-app';

export const SYNCED_TABLES: [string, string][] = [
  ['task', 'tasks'],
  ['event', 'events'],
  ['points_ledger', 'points_ledger'],
  ['user_streak', 'user_streaks'],
  ['badge', 'badges'],
];

/** A started SyncClient on the test app, with short backoffs. */
export async function sdkClient(
  t: TestApp,
  f: FamilyFixture,
  deviceId: string,
  opts: Partial<SyncClientOptions> & { user?: string } = {},
): Promise<SyncClient> {
  const token = f.token(opts.user);
  const client = new SyncClient({
    baseUrl: t.baseUrl,
    deviceId,
    getToken: () => token,
    storage: new MemoryStorage(),
    retry: { baseMs: 5, maxMs: 50, maxAttempts: 8 },
    logger: null,
    ...opts,
  });
  await client.start();
  return client;
}

/** Every live entity of the family straight from the tables: `type:id` -> {version, data}. */
export async function serverState(t: TestApp, familyId: string): Promise<Record<string, { version: number; data: unknown }>> {
  const ds = t.app.get(DataSource);
  const out: Record<string, { version: number; data: unknown }> = {};
  for (const [type, table] of SYNCED_TABLES) {
    const rows: { id: string; version: number; data: unknown }[] = await ds.query(
      `SELECT id, version, data FROM ${table} WHERE family_id = $1 AND deleted_us IS NULL`,
      [familyId],
    );
    for (const r of rows) out[`${type}:${r.id}`] = { version: r.version, data: r.data };
  }
  return out;
}

/** A client's replica in the same shape (pending changes applied, so call it with an empty outbox). */
export function replicaState(client: SyncClient): Record<string, { version: number; data: unknown }> {
  const out: Record<string, { version: number; data: unknown }> = {};
  for (const [type] of SYNCED_TABLES) for (const e of client.list(type)) out[`${type}:${e.id}`] = { version: e.version, data: e.data };
  return out;
}

/** Storage that fails one chosen write, as if the app died before it landed. */
export class CrashingStorage implements SyncStorage {
  crashOn: ((w: Parameters<SyncStorage['write']>[0]) => boolean) | null = null;
  constructor(readonly inner: SyncStorage) {}
  load() {
    return this.inner.load();
  }
  async write(w: Parameters<SyncStorage['write']>[0]) {
    if (this.crashOn?.(w)) {
      this.crashOn = null;
      throw new Error('simulated crash before the page was stored');
    }
    return this.inner.write(w);
  }
}

export interface Exchange {
  body: string;
  status: number | 'dropped' | 'offline';
  at: number;
  headers: Record<string, string>;
  response?: string;
  retryAfter?: string | null;
}

/** The changes of each recorded request, gzip bodies inflated. */
export function sentChanges(log: Exchange[]): OutgoingChange[][] {
  return log.map((e) => {
    const body = e.headers['Content-Encoding'] === 'gzip' ? gunzipSync(Buffer.from(e.body, 'base64')).toString() : e.body;
    return (JSON.parse(body) as { changes?: OutgoingChange[] }).changes ?? [];
  });
}

/** A fetch that records every request, and can be switched offline. */
export function recordingFetch(log: Exchange[], state: { offline?: boolean } = {}): FetchLike {
  return async (url, init) => {
    const body = typeof init.body === 'string' || init.body === undefined ? (init.body ?? '') : Buffer.from(init.body).toString('base64');
    if (state.offline) {
      log.push({ body, status: 'offline', at: Date.now(), headers: init.headers });
      throw new TypeError('fetch failed (offline)');
    }
    const res = await fetch(url, init as RequestInit);
    log.push({
      body,
      status: res.status,
      at: Date.now(),
      headers: init.headers,
      response: await res.clone().text(),
      retryAfter: res.headers.get('retry-after'),
    });
    return res;
  };
}

/**
 * The `ws` WebSocket behind a switch: while `state.offline` a new socket is refused (it
 * dials a closed port), and `cut()` drops the open ones, as a lost network does.
 */
export function switchableWebSocket(state: { offline?: boolean }): { WebSocket: WebSocketConstructor; cut(): void } {
  const open = new Set<WebSocket>();
  class Switchable extends WebSocket {
    constructor(url: string) {
      super(state.offline ? 'ws://127.0.0.1:9' : url);
      open.add(this);
      this.on('close', () => open.delete(this));
    }
  }
  return {
    WebSocket: Switchable as unknown as WebSocketConstructor,
    cut: () => {
      for (const s of open) s.terminate();
    },
  };
}
