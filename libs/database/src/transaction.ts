import type { PoolClient, QueryResult } from 'pg';
import type { QueryRunner } from 'typeorm';

export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ';

/**
 * One transaction on one pooled connection, as repositories see it. The first statement
 * opens it and the last one may close it: `begin` sends BEGIN and `commit` sends COMMIT in
 * the same simple-protocol message as their statement, one round trip each instead of two.
 * Simple-protocol text cannot carry parameters, so those statements inline literals
 * (`literal`, or checked numbers and uuids).
 */
export interface Transaction {
  /** A parametrised statement; opens the transaction first when nothing has. Rows as TypeORM returns them. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows as TypeORM returns them (any), typed by each repository
  query<T = any>(sql: string, params?: unknown[]): Promise<T>;
  /** A parametrised statement; the number of rows it touched. */
  execute(sql: string, params?: unknown[]): Promise<number>;
  /** The transaction's first statement, sent with BEGIN in one message; its rows. */
  begin<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * The transaction's last statement, sent with COMMIT in one message; its rows. `prelude`:
   * statements sent before it in the same message (their results are dropped).
   */
  commit<T = Record<string, unknown>>(sql: string, prelude?: string): Promise<T[]>;
  /**
   * Several last statements, sent with COMMIT in one message; the rows of each, in order.
   * `after`: a statement sent after COMMIT in the same message (its own implicit transaction;
   * it runs only if everything before it succeeded; its result is dropped).
   */
  commitAll<T = Record<string, unknown>>(statements: string[], after?: string): Promise<T[][]>;
  /** A string as an SQL literal, for `begin` and `commit` text. */
  literal(value: string): string;
}

type State = 'idle' | 'open' | 'closing' | 'closed';

/** The Transaction of one attempt of `TransactionRunner.run`; it knows whether BEGIN and COMMIT went out. */
export class PgTransaction implements Transaction {
  private state: State = 'idle';

  constructor(
    private readonly runner: QueryRunner,
    private readonly client: PoolClient,
    private readonly isolation: IsolationLevel,
  ) {}

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows as TypeORM returns them (any), typed by each repository
  async query<T = any>(sql: string, params?: unknown[]): Promise<T> {
    await this.ensureOpen();
    return this.runner.query(sql, params) as Promise<T>;
  }

  async execute(sql: string, params?: unknown[]): Promise<number> {
    await this.ensureOpen();
    const result = await this.runner.query(sql, params, true);
    return Number(result.affected ?? 0);
  }

  async begin<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    if (this.state !== 'idle') throw new Error('begin() must be the first statement of the transaction');
    this.state = 'open';
    const [, result] = (await this.client.query(`BEGIN ISOLATION LEVEL ${this.isolation}; ${sql}`)) as unknown as QueryResult[];
    return result.rows as T[];
  }

  async commit<T = Record<string, unknown>>(sql: string, prelude?: string): Promise<T[]> {
    const results = await this.commitAll<T>(prelude ? [prelude, sql] : [sql]);
    return results[results.length - 1];
  }

  async commitAll<T = Record<string, unknown>>(statements: string[], after?: string): Promise<T[][]> {
    await this.ensureOpen();
    this.state = 'closing';
    const text = `${statements.join('; ')}; COMMIT${after ? `; ${after}` : ''}`;
    const results = (await this.client.query(text)) as unknown as QueryResult[];
    this.state = 'closed';
    // One result per statement, then COMMIT's (a single statement and COMMIT still come as an array).
    return results.slice(0, statements.length).map((r) => r.rows as T[]);
  }

  literal(value: string): string {
    return this.client.escapeLiteral(value);
  }

  /** Ends the transaction when the work did not: COMMIT after it, ROLLBACK after an error. */
  async finish(outcome: 'commit' | 'rollback'): Promise<void> {
    if (this.state === 'idle' || this.state === 'closed') return;
    this.state = 'closed';
    await this.client.query(outcome === 'commit' ? 'COMMIT' : 'ROLLBACK');
  }

  private async ensureOpen(): Promise<void> {
    if (this.state === 'open') return;
    if (this.state !== 'idle') throw new Error('the transaction is already committed');
    this.state = 'open';
    await this.client.query(`BEGIN ISOLATION LEVEL ${this.isolation}`);
  }
}
