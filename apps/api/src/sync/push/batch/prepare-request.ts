import { randomUUID } from 'node:crypto';
import { CONFLICT_ENTITY_TYPE, ConflictResolver, isoToMicros, isProtocolYear, Lane, LANES } from '@app/sync-contract';
import type { FamilyScope } from '../../../family/family-caller';
import { changeKey } from '../change-key';
import { refusedData } from '../../request/delta-input.policy';
import type { DeltaRequest, SyncChangeInput } from '../../dto/delta-request';
import { SyncErrorCode, SyncException } from '../../sync.exception';
import { LoadPlan, PreparedChange, receiptKey } from './batch.types';
import type { ConflictInbox } from './conflict-inbox';

const DEFAULT_LIMIT = 1000;

export interface SyncSettings {
  maxBatch: number;
  maxSkewUs: number;
  /** The inbox keeps a server-owned type's rejected values up to this many bytes of JSON. */
  maxRejectedBytes: number;
  find(type: string): ConflictResolver | undefined;
  laneOf(type: string): Lane;
}

/** The settings of the service's configuration and registry (the push, and replay: PROTOCOL 2.11). */
export function syncSettings(
  sync: { maxBatch: number; maxClockSkewMs: number; maxRejectedBytes: number },
  registry: Pick<SyncSettings, 'find' | 'laneOf'>,
): SyncSettings {
  return {
    maxBatch: sync.maxBatch,
    maxSkewUs: sync.maxClockSkewMs * 1000,
    maxRejectedBytes: sync.maxRejectedBytes,
    find: (type) => registry.find(type),
    laneOf: (type) => registry.laneOf(type),
  };
}

/** Each lane's cursor in µs (PROTOCOL 2.9): never below the watermark; null only with a first sync. */
export type LaneSince = Record<Lane, number | null>;

/** One POST /sync/delta as the steps of the DeltaService need it. */
export interface SyncRequestContext {
  /** The request's id: its record's, when recorded (PROTOCOL 2.11). */
  id: string;
  scope: FamilyScope;
  deviceId: string;
  /** The watermark in µs; null: first sync. */
  since: number | null;
  limit: number;
  /** Opted in to lanes (PROTOCOL 2.9): where each lane stands. Absent: commit order (PROTOCOL 2.5). */
  lanes?: LaneSince;
  /** Opted in to patches (PROTOCOL 2.10). */
  patches: boolean;
  /** With lanes: per entity type of the changes, its lane's cursor when that is past `since`. */
  sinceByType?: Record<string, number>;
  atomic: boolean;
  changes: PreparedChange[];
  /** Client clocks further ahead than this are clamped (rule 5). */
  maxSkewUs: number;
  /** Where merged and lost changes are recorded (PROTOCOL 2.8); absent when no inbox type is registered. */
  inbox?: ConflictInbox;
}

/**
 * Everything about a request that needs no lock, done before taking it: the envelope rules
 * that need the registry or a parse (400, nothing applied), the retry key and the
 * validation of each change's data (its per-change error, if any, is reported later).
 */
export function prepareRequest(scope: FamilyScope, request: DeltaRequest, settings: SyncSettings): SyncRequestContext {
  const changes = request.changes ?? [];
  if (changes.length > settings.maxBatch) {
    throw new SyncException(
      SyncErrorCode.BatchTooLarge,
      `changes: at most ${settings.maxBatch} changes per request (got ${changes.length})`,
      {
        max: settings.maxBatch,
      },
    );
  }
  const since = parseWatermark(request.last_sync_at);
  const lanes = request.lanes && parseLanes(request.lanes, since);
  return {
    id: randomUUID(),
    scope,
    deviceId: request.device_id,
    changes: changes.map((change, index) => prepareChange(change, index, request.device_id, settings)),
    since,
    lanes,
    sinceByType: lanes && sinceByType(changes, lanes, settings),
    patches: request.patches === true,
    limit: request.limit ?? DEFAULT_LIMIT,
    atomic: request.atomic === true,
    maxSkewUs: settings.maxSkewUs,
    inbox: inboxOf(settings),
  };
}

function inboxOf(settings: SyncSettings): ConflictInbox | undefined {
  const resolver = settings.find(CONFLICT_ENTITY_TYPE);
  return resolver && { table: resolver.table, newId: randomUUID, maxRejectedBytes: settings.maxRejectedBytes };
}

function prepareChange(change: SyncChangeInput, index: number, deviceId: string, settings: SyncSettings): PreparedChange {
  const resolver = settings.find(change.entity_type);
  if (resolver?.versioned && change.action !== 'create' && change.version === undefined) {
    throw new SyncException(
      SyncErrorCode.VersionRequired,
      `changes.${index}.version is required for ${change.entity_type} ${change.action} (optimistic locking)`,
    );
  }
  const us = isoToMicros(change.client_timestamp);
  if (us === undefined) {
    throw new SyncException(SyncErrorCode.BadClientTimestamp, `changes.${index}.client_timestamp is not a valid date-time`);
  }
  // A `data` the input guard refused (PROTOCOL 2.6) is a per-change validation error, whatever the action.
  const refused = refusedData(change);
  const valid =
    refused ??
    (resolver && change.action !== 'delete'
      ? resolver.validate(change.action, change.data)
      : change.data !== undefined
        ? resolver?.validateDelete?.(change.data)
        : undefined);
  return { change, index, key: changeKey(deviceId, change), clientUs: us, resolver, valid, refused: refused !== undefined };
}

function parseWatermark(value: string | null | undefined, field = 'last_sync_at'): number | null {
  if (value === null || value === undefined) return null;
  const us = isoToMicros(value);
  if (us === undefined) throw new SyncException(SyncErrorCode.BadWatermark, `${field} is not a valid date-time`);
  if (!isProtocolYear(us)) throw new SyncException(SyncErrorCode.BadWatermark, `${field} must be in the years 1 to 9999 (UTC)`);
  return us;
}

/** The request's `lanes` (PROTOCOL 2.9): a cursor at or below the watermark says nothing more than it. */
function parseLanes(cursors: NonNullable<DeltaRequest['lanes']>, since: number | null): LaneSince {
  const lanes: LaneSince = { 0: since, 1: since, 2: since };
  for (const lane of LANES) {
    const us = parseWatermark(cursors[`${lane}`], `lanes.${lane}`);
    if (us === null) continue;
    if (since === null)
      throw new SyncException(SyncErrorCode.BadWatermark, `lanes.${lane}: a lane cursor needs the last_sync_at it was answered with`);
    if (us > since) lanes[lane] = us;
  }
  return lanes;
}

/** The lane cursor of each type the changes touch, where it is past the watermark (the device has those rows). */
function sinceByType(changes: SyncChangeInput[], lanes: LaneSince, settings: SyncSettings): Record<string, number> {
  const byType: Record<string, number> = {};
  for (const { entity_type: type } of changes) {
    const us = settings.find(type) ? lanes[settings.laneOf(type)] : null;
    if (us !== null) byType[type] = us;
  }
  return byType;
}

/** What a group of requests loads: each distinct (device, change key) pair, every id of a registered type, in first-seen order. */
export function loadPlan(reqs: SyncRequestContext[]): LoadPlan {
  const entities = new Map<string, { type: string; table: string; ids: Set<string> }>();
  const pairs = new Set<string>();
  const plan: LoadPlan = { deviceIds: [], keys: [], entities: [] };
  for (const req of reqs) {
    for (const { change, resolver, key } of req.changes) {
      const pair = receiptKey(req.deviceId, key);
      if (!pairs.has(pair)) {
        pairs.add(pair);
        plan.deviceIds.push(req.deviceId);
        plan.keys.push(key);
      }
      if (!resolver) continue;
      const entry = entities.get(change.entity_type) ?? { type: change.entity_type, table: resolver.table, ids: new Set<string>() };
      entry.ids.add(change.entity_id);
      entities.set(change.entity_type, entry);
    }
  }
  plan.entities = [...entities.values()].map(({ type, table, ids }) => ({ type, table, ids: [...ids] }));
  return plan;
}
