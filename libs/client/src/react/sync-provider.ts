import { createContext, createElement, ReactNode, useEffect, useState } from 'react';
import { holdClient, sharedClient, StartOptions } from '../shared-clients.js';
import { SyncClient } from '../sync-client.js';
import { SyncClientOptions } from '../sync-client.options.js';

/** The client of the nearest SyncProvider. */
export const SyncContext = createContext<SyncClient | null>(null);

/** `options` (one client per storage, made here) or `client` (made by the app), and `live`. */
export type SyncProviderProps = StartOptions & {
  children?: ReactNode;
} & (
    | {
        /** The client's options: one client per `storage` (keep the options object or the storage outside the component). */
        options: SyncClientOptions;
        client?: never;
      }
    | {
        /** A client made by the app: started here if it is not, never stopped here. */
        client: SyncClient;
        options?: never;
      }
  );

/**
 * Gives its subtree a started client (for `useQuery` and the other hooks). Safe under
 * StrictMode: the double mount holds the same client twice and stops nothing in between,
 * so one client runs per storage. Live mode is on unless `live={false}`.
 */
export function SyncProvider(props: SyncProviderProps): ReactNode {
  const [client] = useState(() => props.client ?? sharedClient(props.options!));
  const live = props.live;
  useEffect(() => holdClient(client, { live }, () => undefined), [client, live]);
  return createElement(SyncContext.Provider, { value: client }, props.children);
}
