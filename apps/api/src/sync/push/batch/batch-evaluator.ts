import { CONFLICT_ENTITY_TYPE, EntityData, StateTransition } from '@app/sync-contract';
import { zip } from '../../zip';
import { PositionAllocator } from './position-allocator';
import {
  BatchWrites,
  entityKey,
  EvaluatedBatch,
  FamilyClock,
  FieldDecision,
  Loaded,
  PreparedChange,
  receiptKey,
  StoredOutcome,
  StoredRow,
} from './batch.types';
import { BatchEntity, ChangeVerdict, evaluateChange, loadedEntity } from './change-evaluator';
import { atomicFailures, isFailure, toOutcome } from './change-outcome';
import { inboxRows } from './conflict-inbox';
import { decisionRule, RuleName } from './decision-rule';
import type { SyncRequestContext } from './prepare-request';

/** How each change of the batch was settled, in array order. */
type Step =
  /** Processed by an earlier request: its receipt is the answer. */
  | { kind: 'receipt'; outcome: StoredOutcome }
  /** The same key earlier in this batch: the same answer as that change. */
  | { kind: 'repeat'; of: number }
  | { kind: 'evaluated'; prepared: PreparedChange; verdict: ChangeVerdict };

/**
 * The batch, decided in memory in array order with no I/O: each change sees the entity as
 * the changes before it left it. In: the request, what was loaded under the lock, the
 * clock. Out: each change's outcome, the rows and receipts to store (with their commit
 * positions), the state transitions for hooks, and what the pull need not echo back.
 */
export function evaluateBatch(req: SyncRequestContext, loaded: Loaded, clock: FamilyClock): EvaluatedBatch {
  const entities = initialEntities(req, loaded);
  const transitions: StateTransition[] = [];
  const firstByKey = new Map<string, number>();
  const steps: Step[] = req.changes.map((prepared): Step => {
    const receipt = loaded.receipts.get(receiptKey(req.deviceId, prepared.key));
    if (receipt) return { kind: 'receipt', outcome: receipt };
    const first = firstByKey.get(prepared.key);
    if (first !== undefined) return { kind: 'repeat', of: first };
    firstByKey.set(prepared.key, prepared.index);
    const key = entityKey(prepared.change.entity_type, prepared.change.entity_id);
    const result = evaluateChange(prepared, entities.get(key), { nowUs: clock.nowUs, maxSkewUs: req.maxSkewUs, policies: loaded.policies });
    if (result.entity) entities.set(key, result.entity);
    if (result.transition) transitions.push(result.transition);
    return { kind: 'evaluated', prepared, verdict: result.verdict };
  });

  const outcomes = outcomesOf(steps, entities);
  const rules = rulesOf(steps);
  if (req.atomic && outcomes.some(isFailure)) return { ...discarded(outcomes, loaded, clock), rules };

  const positions = new PositionAllocator(clock);
  const rowsByTable = rowsToWrite(entities, positions);
  const evaluated = zip(steps, outcomes).flatMap(([s, outcome]) =>
    s.kind === 'evaluated' ? [{ prepared: s.prepared, outcome, overridden: overriddenBy(s.verdict) }] : [],
  );
  const inbox = inboxRows(req, evaluated, clock, positions);
  // Beside the batch's own writes to the inbox table (a dismissal), never instead of them.
  if (inbox.length > 0) rowsByTable.set(req.inbox!.table, [...(rowsByTable.get(req.inbox!.table) ?? []), ...inbox]);
  const positionUs = positions.last();
  const writes: BatchWrites = {
    rowsByTable,
    lastUs: positionUs > clock.lastUs ? positionUs : null,
    receipts: evaluated.map(({ prepared: { key, change, index }, outcome }) => ({
      deviceId: req.deviceId,
      key,
      outcome,
      entityType: change.entity_type,
      entityId: change.entity_id,
      action: change.action,
      index,
    })),
  };
  const decisions = dismissalDecisions(evaluated, loaded);
  return { outcomes, rules, discarded: false, writes, transitions, positionUs, notEchoed: notEchoed(entities), decisions };
}

/** The rule behind each change's outcome, in array order (PROTOCOL 2.11). */
function rulesOf(steps: Step[]): RuleName[] {
  const rules = steps.map((s) =>
    s.kind === 'receipt' ? 'retry' : s.kind === 'evaluated' ? decisionRule(s.verdict, s.prepared.resolver) : undefined,
  );
  return steps.map((s, i) => (s.kind === 'repeat' ? rules[s.of]! : rules[i]!));
}

function initialEntities(req: SyncRequestContext, loaded: Loaded): Map<string, BatchEntity> {
  const entities = new Map<string, BatchEntity>();
  for (const { change, resolver } of req.changes) {
    const key = entityKey(change.entity_type, change.entity_id);
    if (!resolver || entities.has(key)) continue;
    entities.set(
      key,
      loadedEntity(change.entity_type, resolver, change.entity_id, {
        row: loaded.rows.get(key),
        since: req.sinceByType?.[change.entity_type] ?? req.since,
      }),
    );
  }
  return entities;
}

function outcomesOf(steps: Step[], entities: Map<string, BatchEntity>): StoredOutcome[] {
  const outcomes = steps.map((s) => {
    if (s.kind === 'receipt') return s.outcome;
    if (s.kind === 'repeat') return undefined;
    const { change } = s.prepared;
    return toOutcome(change, s.verdict, entities.get(entityKey(change.entity_type, change.entity_id)));
  });
  return steps.map((s, i) => (s.kind === 'repeat' ? outcomes[s.of]! : outcomes[i]!));
}

const discarded = (outcomes: StoredOutcome[], loaded: Loaded, clock: FamilyClock): EvaluatedBatch => ({
  outcomes: atomicFailures(outcomes, loaded.rows),
  rules: [],
  discarded: true,
  writes: { rowsByTable: new Map(), lastUs: null, receipts: [] },
  transitions: [],
  positionUs: clock.lastUs,
  notEchoed: new Map(),
});

/** Commit positions go in the order of each entity's last change; the inbox and hooks take the ones after. */
function rowsToWrite(entities: Map<string, BatchEntity>, positions: PositionAllocator): Map<string, StoredRow[]> {
  const changed = [...entities.values()].filter((e) => e.lastIndex >= 0).sort((a, b) => a.lastIndex - b.lastIndex);
  const rowsByTable = new Map<string, StoredRow[]>();
  for (const e of changed) {
    const changedUs = positions.next();
    const state = e.state!;
    const row: StoredRow = {
      ...state,
      id: e.id,
      clientUs: e.clientUs,
      createdUs: e.loaded?.createdUs ?? changedUs,
      changedUs,
      deletedUs: state.deleted ? (e.loaded?.deletedUs ?? changedUs) : null,
    };
    const rows = rowsByTable.get(e.resolver.table) ?? [];
    rowsByTable.set(e.resolver.table, rows);
    rows.push(row);
  }
  return rowsByTable;
}

/** An entity the batch changed, fully applied, and nobody else changed since the watermark: the device has it. */
function notEchoed(entities: Map<string, BatchEntity>): Map<string, string[]> {
  const ids = new Map<string, string[]>();
  for (const e of entities.values()) {
    if (e.changedByOthers || e.notFullyApplied || e.lastIndex < 0) continue;
    const list = ids.get(e.type) ?? [];
    ids.set(e.type, list);
    list.push(e.id);
  }
  return ids;
}

/** The server values a family policy let the change overwrite (PROTOCOL 2.12). */
function overriddenBy(verdict: ChangeVerdict): EntityData | undefined {
  if (verdict.kind !== 'decided') return undefined;
  const { decision } = verdict;
  return decision.kind === 'apply' || decision.kind === 'merge' ? decision.overridden : undefined;
}

/**
 * PROTOCOL 2.12: what the inbox dismissals of the batch decided, one entry per rejected field
 * of each dismissed entry: `restored` when the dismissal says so (else `kept_server`).
 */
function dismissalDecisions(evaluated: { prepared: PreparedChange; outcome: StoredOutcome }[], loaded: Loaded): FieldDecision[] {
  const decisions: FieldDecision[] = [];
  for (const { prepared, outcome } of evaluated) {
    const { change } = prepared;
    if (change.entity_type !== CONFLICT_ENTITY_TYPE || change.action !== 'delete' || !outcome.applied) continue;
    const entry = loaded.rows.get(entityKey(change.entity_type, change.entity_id));
    if (!entry || entry.deleted || !entry.data) continue;
    const { entityType, rejected } = entry.data;
    if (typeof entityType !== 'string' || typeof rejected !== 'object' || rejected === null) continue;
    const restored = change.data?.decision === 'restored';
    for (const field of Object.keys(rejected)) decisions.push({ entityType, field, restored });
  }
  return decisions;
}
