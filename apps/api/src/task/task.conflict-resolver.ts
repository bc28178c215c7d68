import {
  applyPatch,
  ConflictResolver,
  Decision,
  EntityState,
  lifecycleDecision,
  ResolveContext,
  mergeDecision,
  mergeFields,
  SyncAction,
  SyncChange,
  SyncEntity,
  validateWithDto,
  ValidationResult,
} from '@app/sync-contract';
import { CreateTaskDto, PatchTaskDto, TASK_DEFAULTS } from './dto/task-data.dto';

/**
 * Tasks are versioned (rule 1). On a stale version each field is decided by last writer
 * wins (rule 4), except the status: setting `done` wins with its `completedAt` (rule 3),
 * and a stale change can never move a done task back.
 */
@SyncEntity('task')
export class TaskConflictResolver implements ConflictResolver {
  readonly table = 'tasks';
  readonly lane = 0;
  readonly versioned = true;

  validate(action: Exclude<SyncAction, 'delete'>, data: unknown): ValidationResult {
    return action === 'create' ? validateWithDto(CreateTaskDto, data, TASK_DEFAULTS) : validateWithDto(PatchTaskDto, data);
  }

  resolve(current: EntityState | undefined, change: SyncChange, ctx?: ResolveContext): Decision {
    const lifecycle = lifecycleDecision(current, change);
    if ('decided' in lifecycle) return lifecycle.decided;
    const patch = change.patch ?? change.data!;
    if (change.version === lifecycle.live.version) return applyPatch(lifecycle.live, patch, change.clientUs);
    return resolveStale(lifecycle.live, { ...change, data: patch }, ctx?.keepDevice);
  }
}

function resolveStale(current: EntityState, change: SyncChange, keepDevice?: ReadonlySet<string>): Decision {
  const patch = change.data!;
  const serverDone = current.data?.status === 'done';
  const completes = patch.status === 'done' && !serverDone;
  // A stale change cannot move a done task back: its status loses, and so does the
  // completedAt it sends with it (a done task keeps its completion time).
  const reopens = serverDone && patch.status !== undefined && patch.status !== 'done';
  const merge = mergeFields(
    current,
    patch,
    change.clientUs,
    (field) => {
      if (field === 'status' || field === 'completedAt') {
        if (completes) return true;
        if (reopens) return false;
      }
      return undefined;
    },
    keepDevice,
  );
  return mergeDecision(merge, reopens ? 'Done wins' : 'Version mismatch', reopens ? 'done_wins' : 'server_wins');
}
