import { useCallback, useContext, useMemo, useRef, useSyncExternalStore } from 'react';
import { EntityTypeName, EntityTypes } from '../entity-types.js';
import { QueryOptions } from '../query-engine.js';
import { SyncClient } from '../sync-client.js';
import { Entity, StatusEvent } from '../types.js';
import { Mutations, mutationsOf } from '../mutations.js';
import { SyncContext } from './sync-provider.js';

/** The client of the nearest `<SyncProvider>`; throws without one. */
export function useSyncClient(): SyncClient {
  const client = useContext(SyncContext);
  if (!client) throw new Error('useSyncClient: no <SyncProvider> above this component');
  return client;
}

/**
 * The rows of a live query (see `SyncClient.query`): re-renders once per sync page or edit
 * that changes them, never for others. Options are compared by value, so an inline object is fine.
 */
export function useQuery<K extends EntityTypeName>(type: K, options: QueryOptions<EntityTypes[K]> = {}): readonly Entity<EntityTypes[K]>[] {
  const client = useSyncClient();
  const key = JSON.stringify([type, options]);
  // `key` stands for type and options: an inline options object is a new object on every render.
  const query = useMemo(() => client.query(type, options), [client, key]);
  const subscribe = useCallback((onChange: () => void) => query.subscribe(onChange), [query]);
  const snapshot = () => query.current;
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** One entity as `get` shows it (undefined until it exists here); re-renders when it changes. */
export function useEntity<K extends EntityTypeName>(type: K, id: string): Entity<EntityTypes[K]> | undefined {
  return useQuery(type, { where: { id } } as QueryOptions<EntityTypes[K]>)[0];
}

/** The client's `status` (rounds, outbox size, live mode, tab role); a new object only when it changes. */
export function useSyncStatus(): StatusEvent {
  const client = useSyncClient();
  const last = useRef<StatusEvent | null>(null);
  const subscribe = useCallback((onChange: () => void) => client.on('status', onChange), [client]);
  const snapshot = () => {
    const now = client.status();
    if (last.current && JSON.stringify(last.current) === JSON.stringify(now)) return last.current;
    return (last.current = now);
  };
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** create/update/delete resolving with the change's outcome (see `Mutations`). */
export function useMutation(): Mutations {
  const client = useSyncClient();
  return useMemo(() => mutationsOf(client), [client]);
}
