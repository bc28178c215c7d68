import {
  ConflictResolver,
  Decision,
  EntityData,
  EntityState,
  lifecycleDecision,
  isoToMicros,
  ResolveContext,
  mergeDecision,
  mergeFields,
  SyncAction,
  SyncChange,
  SyncEntity,
  validateWithDto,
  ValidationResult,
} from '@app/sync-contract';
import { CreateEventDto, EVENT_DEFAULTS, PatchEventDto } from './dto/event-data.dto';

/** Compared to the microsecond (Date.parse keeps milliseconds only); other ISO forms (a date alone) via Date.parse. */
const instantUs = (iso: string): number => isoToMicros(iso) ?? Date.parse(iso) * 1000;

/** Events carry no version: every update is decided field by field, last writer wins (rule 4). */
@SyncEntity('event')
export class EventConflictResolver implements ConflictResolver {
  readonly table = 'events';
  readonly lane = 0;
  readonly versioned = false;
  readonly appliedCarriesState = true;

  validate(action: Exclude<SyncAction, 'delete'>, data: unknown): ValidationResult {
    const result = action === 'create' ? validateWithDto(CreateEventDto, data, EVENT_DEFAULTS) : validateWithDto(PatchEventDto, data);
    if (!result.ok) return result;
    const problem = this.checkState(result.data);
    return problem ? { ok: false, message: problem } : result;
  }

  /** `end` must not be before `start`, also after a patch merged one of them. */
  checkState(data: EntityData): string | undefined {
    const { start, end } = data as { start?: string; end?: string | null };
    return start && end && instantUs(end) < instantUs(start) ? 'end must not be before start' : undefined;
  }

  resolve(current: EntityState | undefined, change: SyncChange, ctx?: ResolveContext): Decision {
    const lifecycle = lifecycleDecision(current, change);
    if ('decided' in lifecycle) return lifecycle.decided;
    const merge = mergeFields(lifecycle.live, change.patch ?? change.data!, change.clientUs, undefined, ctx?.keepDevice);
    return mergeDecision(merge, 'Last writer wins');
  }
}
