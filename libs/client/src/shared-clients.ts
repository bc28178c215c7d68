import { platform } from './platform.js';
import { SyncClient } from './sync-client.js';
import { SyncClientOptions } from './sync-client.options.js';

/** How a binding starts the client it holds. */
export interface StartOptions {
  /** Live mode (PROTOCOL 2.7) once started; default true. Either way one sync() runs at start. */
  live?: boolean;
}

interface Shared {
  client: SyncClient;
  holders: number;
  started?: Promise<void>;
}

/**
 * The clients the framework bindings share: one per storage (or per options object when it
 * names none), so a component mounted twice (React StrictMode, hot reload) or two providers
 * on one storage never run two clients that would both sync the same outbox.
 */
const shared = new Map<object, Shared>();
const byClient = new WeakMap<SyncClient, Shared>();

/** The client for these options: the one already made for their storage, or a new one (not started). */
export function sharedClient(options: SyncClientOptions): SyncClient {
  const key = options.storage ?? options;
  let entry = shared.get(key);
  if (!entry) {
    entry = { client: new SyncClient(options), holders: 0 };
    shared.set(key, entry);
    byClient.set(entry.client, entry);
  }
  return entry.client;
}

/**
 * Holds a client: the first holder starts it, syncs once and turns live mode on (unless `live: false`).
 * Returns the release; when the last holder lets go and nobody takes the client within a
 * macrotask (a StrictMode remount takes it back at once), it is stopped and forgotten.
 * A client not made by sharedClient is started but never stopped here: its owner stops it.
 */
export function holdClient(client: SyncClient, start: StartOptions = {}, onError: (e: unknown) => void = () => undefined): () => void {
  const entry = byClient.get(client) ?? { client, holders: 0 };
  entry.holders += 1;
  // One sync at once, also in live mode: the page shows the server's state even where the socket cannot open.
  entry.started ??= client.start().then(() => {
    client.sync().catch(onError);
    if (start.live !== false) client.live(true);
  });
  entry.started.catch(onError);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    entry.holders -= 1;
    if (!byClient.has(client)) return;
    platform.setTimeout(() => {
      if (entry.holders > 0) return;
      for (const [key, e] of shared) if (e === entry) shared.delete(key);
      byClient.delete(client);
      client.stop().catch(onError);
    }, 0);
  };
}
