/** `@delta-sync/client/react`: the SDK's React binding (react is a peer dependency). */
export { SyncProvider, SyncContext } from './sync-provider.js';
export type { SyncProviderProps } from './sync-provider.js';
export { useSyncClient, useQuery, useEntity, useSyncStatus, useMutation } from './hooks.js';
export type { Mutations } from '../mutations.js';
export type { StartOptions } from '../shared-clients.js';
