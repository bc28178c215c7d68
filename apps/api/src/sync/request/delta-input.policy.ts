import type { ValidationResult } from '@app/sync-contract';
import { InputPolicy } from '../../common/input-guard';
import { describeFinding, escapeUnstorable, InputFinding } from '../../common/input-scan';
import type { SyncChangeInput } from '../dto/delta-request';

/**
 * Which findings of the input guard POST /sync/delta reports per change (PROTOCOL 2.6): in a
 * change's `data` -> error `validation`, in its `entity_type` -> `unknown_entity_type`. The
 * rest of the envelope (device_id, entity_id, change_id, last_sync_at, ...) is a 400.
 *
 * The guard runs before the change's retry key is computed and before anything is stored, so
 * the change is rewritten into one that is safe to digest and to keep in its receipt:
 * - `data` becomes `{ [REFUSED_DATA]: message }`. No client can send that key (a NUL in a key
 *   is itself refused), so a refused change never shares a retry key with an accepted one;
 *   `refusedData` turns it into the change's validation error.
 * - `entity_type` is escaped (`a\u0000b`): it contains a backslash, so no type is registered
 *   under it and the sync path reports it as `unknown_entity_type`, naming what was sent.
 */
export const REFUSED_DATA = '\u0000refused';

const MAX_ENTITY_TYPE = 64;

type Owned = { index: number; field: 'data' | 'entity_type' };

function owned({ path, inKey }: InputFinding): Owned | undefined {
  const [root, index, field] = path;
  if (root !== 'changes' || typeof index !== 'number') return undefined;
  if (field === 'data' && path.length > 3) return { index, field };
  if (field === 'entity_type' && path.length === 3 && !inKey) return { index, field };
  return undefined;
}

/** At most `max` code points (as JSON Schema counts them), never splitting a pair. */
function truncateCodePoints(value: string, max: number): string {
  return Array.from(value).slice(0, max).join('');
}

export const DELTA_INPUT_POLICY: InputPolicy = {
  owns: (finding) => owned(finding) !== undefined,
  neutralise(body, findings) {
    const changes = (body as { changes: Record<string, unknown>[] }).changes;
    const refused = new Set<number>();
    for (const finding of findings) {
      const { index, field } = owned(finding)!;
      const change = changes[index];
      if (!change) continue;
      if (field === 'entity_type') {
        const sent = change.entity_type as string;
        const escaped = escapeUnstorable(sent);
        // Too long as sent: left too long, so the envelope check still answers 400 for it.
        change.entity_type = Array.from(sent).length <= MAX_ENTITY_TYPE ? truncateCodePoints(escaped, MAX_ENTITY_TYPE) : escaped;
      } else if (!refused.has(index)) {
        refused.add(index);
        change.data = { [REFUSED_DATA]: describeFinding({ ...finding, path: finding.path.slice(2) }) };
      }
    }
  },
};

/** The validation error of a change whose `data` the input guard refused, if it did. */
export function refusedData(change: SyncChangeInput): ValidationResult | undefined {
  const data = change.data;
  if (!data || !Object.prototype.hasOwnProperty.call(data, REFUSED_DATA)) return undefined;
  return { ok: false, message: String(data[REFUSED_DATA]) };
}
