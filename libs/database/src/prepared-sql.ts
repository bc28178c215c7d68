import { createHash } from 'node:crypto';

/**
 * A statement name for a statement text: `prefix` and a hash of the text, so the same text
 * gets the same name on every connection and another text (another shape) another name.
 */
export const shapeName = (prefix: string, text: string): string =>
  `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`;

/**
 * A statement PostgreSQL plans once per connection: SQL-level `PREPARE name(types) AS text`,
 * then `EXECUTE name(args)` as plain statement text. Unlike a protocol-level prepared
 * statement, an EXECUTE can travel in a multi-statement simple-protocol message (with BEGIN
 * or COMMIT: one round trip). Its arguments are SQL literals (escaped strings, checked
 * numbers, `ARRAY[...]` expressions); each is cast to its parameter's type.
 *
 * Without prepared statements (`DB_PREPARED_STATEMENTS=false`, for a transaction-mode pooler,
 * where consecutive transactions may run on different server sessions) the same text is sent
 * with the arguments in place of `$n`: the same statement, planned on every call.
 */
export class PreparedSql {
  constructor(
    readonly name: string,
    readonly types: readonly string[],
    readonly text: string,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`PreparedSql: "${name}" is not a plain identifier`);
    for (const [, n] of text.matchAll(/\$(\d+)/g)) {
      if (Number(n) < 1 || Number(n) > types.length) throw new Error(`PreparedSql ${name}: $${n} has no type (${types.length} given)`);
    }
  }

  /** The statement that prepares it on a session. */
  prepareText(): string {
    return `PREPARE ${this.name}(${this.types.join(', ')}) AS ${this.text}`;
  }

  /** The call of the prepared statement. */
  executeText(args: readonly string[]): string {
    this.check(args);
    return `EXECUTE ${this.name}(${args.join(', ')})`;
  }

  /** The statement itself with the arguments in place (cast to the parameter types). */
  inlineText(args: readonly string[]): string {
    this.check(args);
    return this.text.replace(/\$(\d+)/g, (_, n: string) => `(${args[Number(n) - 1]})::${this.types[Number(n) - 1]}`);
  }

  private check(args: readonly string[]): void {
    if (args.length !== this.types.length) throw new Error(`PreparedSql ${this.name}: ${args.length} arguments for ${this.types.length}`);
  }
}

/** A text[] argument: the strings escaped by `literal`. */
export const textArrayArg = (values: readonly string[], literal: (value: string) => string): string =>
  values.length === 0 ? `'{}'` : `ARRAY[${values.map(literal).join(',')}]`;

/** A safe integer argument (anything else throws: it would be inlined). */
export const integerArg = (n: number): string => {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
};
