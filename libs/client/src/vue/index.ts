/** `@delta-sync/client/vue`: the SDK's Vue 3 composables (vue is a peer dependency). */
export { provideSync, SyncProvider, SyncClientKey, useSyncClient, useQuery, useEntity, useSyncStatus, useMutation } from './composables.js';
export type { Mutations } from '../mutations.js';
export type { StartOptions } from '../shared-clients.js';
