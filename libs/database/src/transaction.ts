import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { QueryRunner } from 'typeorm';
import { PreparedSql, shapeName } from './prepared-sql';

export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ';

/** One transaction on one pooled connection, as repositories see it: parametrised statements. */
export interface Transaction {
  /** A parametrised statement; rows as TypeORM returns them. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows as TypeORM returns them (any), typed by each repository
  query<T = any>(sql: string, params?: unknown[]): Promise<T>;
  /** A parametrised statement; the number of rows it touched. */
  execute(sql: string, params?: unknown[]): Promise<number>;
}

/**
 * The same transaction with control over how its statements travel, for the one hot path
 * that needs it (the sync port's PostgreSQL implementation: `runWire`). The first statement
 * opens the transaction and the last one may close it: `begin` sends BEGIN and `commit` sends
 * COMMIT in the same simple-protocol message as their statement, one round trip each instead
 * of two. Simple-protocol text cannot carry parameters, so those statements inline literals
 * (`literal`, or checked numbers and uuids).
 */
export interface WireTransaction extends Transaction {
  /**
   * A parametrised statement PostgreSQL plans once per connection (a protocol-level named
   * statement; unnamed when prepared statements are off); its rows as the driver returns them.
   * For hot statements whose text comes from a bounded set of shapes.
   */
  queryPrepared<T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<T[]>;
  /** The transaction's first statement, sent with BEGIN in one message; its rows. */
  begin<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * The transaction's last statement, sent with COMMIT in one message; its rows. `prelude`:
   * statements sent before it in the same message (their results are dropped).
   */
  commit<T = Record<string, unknown>>(sql: string, prelude?: string): Promise<T[]>;
  /**
   * Several last statements, sent with COMMIT in one message; the rows of each, in order. As
   * the transaction's first statements, BEGIN goes in the same message too.
   * `after`: a statement sent after COMMIT in the same message (its own implicit transaction;
   * it runs only if everything before it succeeded; its result is dropped).
   */
  commitAll<T = Record<string, unknown>>(statements: string[], after?: string): Promise<T[][]>;
  /** A string as an SQL literal, for `begin` and `commit` text. */
  literal(value: string): string;
  /**
   * The text that runs `sql` with these arguments (SQL literals), to send as a statement of
   * `begin`, `commit` or `commitAll`: `EXECUTE` of the statement prepared on this connection
   * (prepared here, in a round trip of its own, the first time), or the statement with the
   * arguments inlined when prepared statements are off.
   */
  statement(sql: PreparedSql, args: readonly string[]): Promise<string>;
}

/** The statements prepared (or being prepared) on each pooled connection; a session keeps them until it ends. */
const preparedOn = new WeakMap<PoolClient, Map<string, Promise<void>>>();

const names = new Map<string, string>();
/** A protocol-level statement name for a statement text (the same text, the same name, on every connection). */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    if (names.size > 1000) names.clear(); // a bound, should a caller build texts without bound
    names.set(sql, (name = shapeName('q', sql)));
  }
  return name;
}

type State = 'idle' | 'open' | 'closing' | 'closed';

/** The Transaction of one attempt of `TransactionRunner.run`; it knows whether BEGIN and COMMIT went out. */
export class PgTransaction implements WireTransaction {
  private state: State = 'idle';

  constructor(
    private readonly runner: QueryRunner,
    private readonly client: PoolClient,
    private readonly isolation: IsolationLevel,
    private readonly prepared = true,
  ) {}

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows as TypeORM returns them (any), typed by each repository
  async query<T = any>(sql: string, params?: unknown[]): Promise<T> {
    await this.ensureOpen();
    return this.runner.query(sql, params) as Promise<T>;
  }

  async queryPrepared<T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<T[]> {
    await this.ensureOpen();
    const name = this.prepared ? statementName(sql) : undefined;
    const result = await this.client.query<T & QueryResultRow>({ name, text: sql, values: params });
    return result.rows;
  }

  async execute(sql: string, params?: unknown[]): Promise<number> {
    await this.ensureOpen();
    const result = await this.runner.query(sql, params, true);
    return Number(result.affected ?? 0);
  }

  async begin<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    if (this.state !== 'idle') throw new Error('begin() must be the first statement of the transaction');
    this.state = 'open';
    const [, result] = (await this.client.query(`${this.beginText}; ${sql}`)) as unknown as QueryResult[];
    return (result?.rows ?? []) as T[];
  }

  async commit<T = Record<string, unknown>>(sql: string, prelude?: string): Promise<T[]> {
    const results = await this.commitAll<T>(prelude ? [prelude, sql] : [sql]);
    return results.at(-1) ?? [];
  }

  async commitAll<T = Record<string, unknown>>(statements: string[], after?: string): Promise<T[][]> {
    // Nothing sent yet: BEGIN travels in the same message, the whole transaction one round trip.
    const opening = this.state === 'idle';
    if (!opening) await this.ensureOpen();
    this.state = 'closing';
    const text = `${opening ? `${this.beginText}; ` : ''}${statements.join('; ')}; COMMIT${after ? `; ${after}` : ''}`;
    const results = (await this.client.query(text)) as unknown as QueryResult[];
    this.state = 'closed';
    // One result per statement (after BEGIN's), then COMMIT's (a single statement and COMMIT still come as an array).
    const first = opening ? 1 : 0;
    return results.slice(first, first + statements.length).map((r) => r.rows as T[]);
  }

  literal(value: string): string {
    return this.client.escapeLiteral(value);
  }

  async statement(sql: PreparedSql, args: readonly string[]): Promise<string> {
    if (!this.prepared) return sql.inlineText(args);
    let prepared = preparedOn.get(this.client);
    if (!prepared) preparedOn.set(this.client, (prepared = new Map()));
    let done = prepared.get(sql.name);
    if (!done) {
      // PREPARE is not transactional: it stays when a transaction around it rolls back.
      const ready = this.client.query(sql.prepareText()).then(() => undefined);
      prepared.set(sql.name, (done = ready));
      ready.catch(() => prepared.delete(sql.name));
    }
    await done;
    return sql.executeText(args);
  }

  /** Ends the transaction when the work did not: COMMIT after it, ROLLBACK after an error. */
  async finish(outcome: 'commit' | 'rollback'): Promise<void> {
    if (this.state === 'idle' || this.state === 'closed') return;
    this.state = 'closed';
    await this.client.query(outcome === 'commit' ? 'COMMIT' : 'ROLLBACK');
  }

  /** The BEGIN of this transaction, alone or at the head of a message. */
  private get beginText(): string {
    return `BEGIN ISOLATION LEVEL ${this.isolation}`;
  }

  private async ensureOpen(): Promise<void> {
    if (this.state === 'open') return;
    if (this.state !== 'idle') throw new Error('the transaction is already committed');
    this.state = 'open';
    await this.client.query(this.beginText);
  }
}
