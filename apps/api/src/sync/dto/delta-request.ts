import type { ChangeAction, DeltaRequest as WireDeltaRequest, WireChange } from '@delta-sync/client/wire';

export const SYNC_ACTIONS = ['create', 'update', 'delete'] as const satisfies readonly ChangeAction[];

/**
 * The body of POST /sync/delta, as validated by `DeltaRequestValidator`: the wire format
 * (libs/client/src/wire.ts, shared with the SDK).
 */
export type DeltaRequest = WireDeltaRequest;

/**
 * One change as it travels on the wire: the one type behind the OpenAPI DTO
 * (`SyncChangeDto implements` it), the JSON Schema of `DeltaRequestValidator` (its
 * properties are checked against these keys) and the e2e clients.
 */
export type SyncChangeInput = WireChange;
