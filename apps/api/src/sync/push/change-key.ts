import { createHash } from 'node:crypto';
import type { SyncChangeInput } from '../dto/delta-request';

/** JSON with sorted object keys, so equal data gives an equal digest whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The identity of a change for exactly-once retries (PROTOCOL 2.4): its `change_id`, or a digest
 * of what the change says. Receipts are scoped to family and device.
 */
export function changeKey(deviceId: string, change: SyncChangeInput): string {
  if (change.change_id !== undefined) return `id:${change.change_id}`;
  const digest = createHash('sha256')
    .update(
      canonicalJson([
        deviceId,
        change.entity_type,
        change.entity_id,
        change.action,
        change.version ?? null,
        change.client_timestamp,
        change.data ?? null,
      ]),
    )
    .digest('base64url');
  return `h:${digest}`;
}
