import { EntityTypeName, EntityTypes } from './entity-types.js';
import { SyncClient } from './sync-client.js';
import { ChangeAction, ChangeStatus } from './types.js';

/**
 * create/update/delete whose promises resolve with the change's outcome once a sync has
 * answered it (`applied`, `conflict`, `error`; null: nothing was sent), as `SyncClient.mutate`.
 * The edit shows in every query at once; the promise waits for the server (and, offline, for the network).
 */
export interface Mutations {
  create<K extends EntityTypeName>(type: K, id: string, data: Partial<EntityTypes[K]>): Promise<ChangeStatus | null>;
  update<K extends EntityTypeName>(type: K, id: string, patch: Partial<EntityTypes[K]>): Promise<ChangeStatus | null>;
  delete(type: EntityTypeName, id: string): Promise<ChangeStatus | null>;
}

/** The bindings' `useMutation`. */
export function mutationsOf(client: SyncClient): Mutations {
  const run = (action: ChangeAction) => (type: EntityTypeName, id: string, data?: object) => client.mutate(action, type, id, data as never);
  return { create: run('create'), update: run('update'), delete: run('delete') } as Mutations;
}
