import { ConflictResolver, ValidationResult } from './conflict-resolver';
import { Decision } from './decision';
import { serverWins } from './rules/rules';

/**
 * A type only the server writes (PROTOCOL 2.3): every client change loses (rule 6) with the
 * subclass's reason. Subclasses name their table and carry `@SyncEntity(type)`.
 */
export abstract class ServerOnlyResolver implements ConflictResolver {
  abstract readonly table: string;
  readonly versioned = false;
  readonly serverOwned = true;
  protected abstract readonly reason: string;

  validate(): ValidationResult {
    return { ok: true, data: {} };
  }

  resolve(): Decision {
    return serverWins(this.reason);
  }
}
