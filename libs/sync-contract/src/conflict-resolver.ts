import { Decision } from './decision';
import { EntityData, EntityState, ResolveContext, SyncAction, SyncChange } from './sync-change';

/** A sync lane (PROTOCOL 2.9): 0 first, 2 last. */
export type Lane = 0 | 1 | 2;

/** Every lane, in the order a page is filled. */
export const LANES: readonly Lane[] = [0, 1, 2];

export type ValidationResult = { ok: true; data: EntityData } | { ok: false; message: string };

/**
 * What an entity module gives the sync engine about its type: where its rows live, how its
 * `data` is validated, and the pure conflict rules. Registered with `@SyncEntity('type')`.
 */
export interface ConflictResolver {
  /** The table with the sync columns (family_id, id, version, data, field_clocks, ...). */
  readonly table: string;
  /**
   * The sync lane of this type (PROTOCOL 2.9): 0 is pulled first by a device far behind, 2
   * last; 1 when absent. SYNC_TYPE_PRIORITIES overrides it.
   */
  readonly lane?: Lane;
  /** Whether clients must send `version` on update/delete (optimistic locking). */
  readonly versioned: boolean;
  /**
   * A client cannot show that its change of this type was based on the server's state (no
   * version): every applied entry then carries the entity's state (PROTOCOL 2: "any `event` change").
   */
  readonly appliedCarriesState?: boolean;
  /**
   * Clients may not write this type (rules 6): its `data` is never validated, so what the
   * conflict inbox keeps of a lost change to it is bounded by size instead (PROTOCOL 2.13).
   */
  readonly serverOwned?: boolean;
  /**
   * A `delete` that carries `data` (PROTOCOL 2.12: an inbox dismissal's `decision`): checks it.
   * Absent: a delete's `data` is ignored.
   */
  validateDelete?(data: unknown): ValidationResult;
  /** Checks and normalises a change's `data` (create: full object; update: partial patch). */
  validate(action: Exclude<SyncAction, 'delete'>, data: unknown): ValidationResult;
  /** Pure: current state (undefined = the family never had this id) + change -> decision. */
  resolve(current: EntityState | undefined, change: SyncChange, ctx: ResolveContext): Decision;
  /** Re-checks invariants across fields on the merged state (e.g. end >= start); a message on failure. */
  checkState?(data: EntityData): string | undefined;
}
