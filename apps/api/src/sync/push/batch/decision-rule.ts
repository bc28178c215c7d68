import type { ConflictResolver } from '@app/sync-contract';
import type { ChangeVerdict } from './change-evaluator';

/**
 * The rule that decided a change (PROTOCOL 2.11), in the protocol reference's words: the
 * conflict rules of 2.1 (`version_match` rule 1, `delete_wins` rule 2, `done_wins` rule 3,
 * `last_writer_wins` rule 4, `append_only` and `server_owned` rule 6), `family_policy`
 * (2.12), an error's code, and `retry` for a change answered from its receipt (2.4).
 */
export type RuleName =
  | 'version_match'
  | 'delete_wins'
  | 'done_wins'
  | 'last_writer_wins'
  | 'append_only'
  | 'server_owned'
  | 'family_policy'
  | 'retry'
  | 'validation'
  | 'unknown_entity_type'
  | 'not_found';

/** Pure: the rule behind a verdict of `resolver` (undefined: an unknown type). */
export function decisionRule(verdict: ChangeVerdict, resolver: ConflictResolver | undefined): RuleName {
  if (verdict.kind === 'error') return verdict.code as RuleName;
  const { decision } = verdict;
  if ((decision.kind === 'apply' || decision.kind === 'merge') && decision.overridden) return 'family_policy';
  const appendOnly = resolver?.serverOwned === true && resolver.versioned === false && resolver.table === 'points_ledger';
  switch (decision.kind) {
    case 'error':
      return decision.code as RuleName;
    case 'apply':
      if (appendOnly) return 'append_only';
      return decision.basedOnCurrent ? 'version_match' : 'last_writer_wins';
    case 'merge':
      return /done/i.test(decision.reason) ? 'done_wins' : 'last_writer_wins';
    case 'conflict':
      if (decision.resolution !== 'server_wins') return decision.resolution;
      if (appendOnly || decision.reason === 'Immutable') return 'append_only';
      if (resolver?.serverOwned) return 'server_owned';
      return 'last_writer_wins';
  }
}
