import {
  computed,
  ComputedRef,
  defineComponent,
  inject,
  InjectionKey,
  MaybeRefOrGetter,
  onScopeDispose,
  PropType,
  provide,
  Ref,
  shallowReadonly,
  shallowRef,
  toValue,
  watchEffect,
} from 'vue';
import { EntityTypeName, EntityTypes } from '../entity-types.js';
import { QueryOptions } from '../query-engine.js';
import { holdClient, sharedClient, StartOptions } from '../shared-clients.js';
import { SyncClient } from '../sync-client.js';
import { SyncClientOptions } from '../sync-client.options.js';
import { Entity, StatusEvent } from '../types.js';
import { Mutations, mutationsOf } from '../mutations.js';

/** Where `provideSync` puts the client. */
export const SyncClientKey: InjectionKey<SyncClient> = Symbol('delta-sync client');

/**
 * Gives the component's descendants a started client (call it in a root `setup`): one
 * client per `storage`, held while the component lives, stopped after the last holder goes.
 * With a `SyncClient` made by the app, it is started here if needed and never stopped here.
 */
export function provideSync(source: SyncClientOptions | SyncClient, start: StartOptions = {}): SyncClient {
  const client = source instanceof SyncClient ? source : sharedClient(source);
  onScopeDispose(holdClient(client, start));
  provide(SyncClientKey, client);
  return client;
}

/** The same as a component: `<SyncProvider :options="options">…</SyncProvider>`. */
export const SyncProvider = defineComponent({
  name: 'SyncProvider',
  props: {
    options: { type: Object as PropType<SyncClientOptions>, required: false },
    client: { type: Object as PropType<SyncClient>, required: false },
    live: { type: Boolean, default: true },
  },
  setup(props, { slots }) {
    const source = props.client ?? props.options;
    if (!source) throw new Error('SyncProvider: pass `options` or `client`');
    provideSync(source, { live: props.live });
    return () => slots.default?.();
  },
});

/** The client given by the nearest `provideSync` / `SyncProvider`; throws without one. */
export function useSyncClient(): SyncClient {
  const client = inject(SyncClientKey, null);
  if (!client) throw new Error('useSyncClient: no provideSync() or <SyncProvider> above this component');
  return client;
}

/**
 * The rows of a live query (see `SyncClient.query`) as a read-only shallow ref, set once
 * per sync page or edit that changes them. `options` may be a ref or a getter: the query
 * follows it.
 */
export function useQuery<K extends EntityTypeName>(
  type: K,
  options: MaybeRefOrGetter<QueryOptions<EntityTypes[K]>> = {},
): Readonly<Ref<readonly Entity<EntityTypes[K]>[]>> {
  const client = useSyncClient();
  const rows = shallowRef<readonly Entity<EntityTypes[K]>[]>([]);
  watchEffect((onCleanup) => {
    const query = client.query(type, toValue(options));
    rows.value = query.current;
    onCleanup(query.subscribe((next) => (rows.value = next)));
  });
  return shallowReadonly(rows);
}

/** One entity as `get` shows it (undefined until it exists here). */
export function useEntity<K extends EntityTypeName>(
  type: K,
  id: MaybeRefOrGetter<string>,
): ComputedRef<Entity<EntityTypes[K]> | undefined> {
  const rows = useQuery(type, () => ({ where: { id: toValue(id) } }) as QueryOptions<EntityTypes[K]>);
  return computed(() => rows.value[0]);
}

/** The client's `status` (rounds, outbox size, live mode, tab role) as a read-only shallow ref. */
export function useSyncStatus(): Readonly<Ref<StatusEvent>> {
  const client = useSyncClient();
  const status = shallowRef(client.status());
  // A new object only when something changed: an equal status re-renders nothing.
  onScopeDispose(client.on('status', (s) => JSON.stringify(s) !== JSON.stringify(status.value) && (status.value = s)));
  return shallowReadonly(status);
}

/** create/update/delete resolving with the change's outcome (see `Mutations`). */
export function useMutation(): Mutations {
  return mutationsOf(useSyncClient());
}
