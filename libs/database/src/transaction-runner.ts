import { Inject, Injectable, Optional } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { DataSource, QueryRunner } from 'typeorm';
import { classifyDatabaseError, sqlState } from './database-errors';
import { IsolationLevel, PgTransaction, Transaction, WireTransaction } from './transaction';

export const TRANSACTION_ATTEMPTS = 3;

/** A serialization failure or a deadlock (40001, 40P01): the whole transaction may simply run again. */
export const isRetryableTransactionError = (error: unknown): boolean => classifyDatabaseError(error) === 'retryable';

export interface TransactionOptions {
  isolation?: IsolationLevel;
  /** Waits before attempt n (2, 3): the default is 5-25 ms, then 10-50 ms, jittered. */
  backoffMs?: (attempt: number) => number;
}

/** How transactions use the connection: `preparedStatements` (default true), see PreparedSql. */
export interface TransactionSettings {
  preparedStatements: boolean;
}
export const TRANSACTION_SETTINGS = Symbol('TRANSACTION_SETTINGS');

const jitteredBackoff = (attempt: number) => (attempt - 1) * (5 + Math.random() * 20);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one way this service runs a transaction (sync, families, maintenance). The work gets a
 * Transaction on one pooled connection; BEGIN travels with its first statement and COMMIT
 * may travel with its last (see Transaction). Whatever the work leaves open is committed
 * when it returns and rolled back when it throws; the error is rethrown; the connection is
 * always released. A serialization failure or a deadlock (40001, 40P01) runs the whole
 * work again on a fresh transaction, up to three attempts, so the work must keep its state
 * inside the call; no other error is retried.
 */
@Injectable()
export class TransactionRunner {
  private readonly prepared: boolean;

  constructor(
    private readonly dataSource: DataSource,
    @Optional() @Inject(TRANSACTION_SETTINGS) settings?: TransactionSettings,
  ) {
    this.prepared = settings?.preparedStatements ?? true;
  }

  run<T>(work: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.runWire(work, options);
  }

  /** The same, with control over how the statements travel (see WireTransaction): for the sync port only. */
  async runWire<T>(work: (tx: WireTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const backoff = options.backoffMs ?? jitteredBackoff;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(work, options.isolation ?? 'READ COMMITTED');
      } catch (error) {
        if (attempt >= TRANSACTION_ATTEMPTS || !isRetryableTransactionError(error)) throw error;
        await sleep(backoff(attempt + 1));
      }
    }
  }

  private async attempt<T>(work: (tx: WireTransaction) => Promise<T>, isolation: IsolationLevel): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    let broken: unknown;
    try {
      const client = (await runner.connect()) as PoolClient;
      const tx = new PgTransaction(runner, client, isolation, this.prepared);
      try {
        const value = await work(tx);
        await tx.finish('commit');
        return value;
      } catch (error) {
        // Someone deallocated our statements (DISCARD ALL, a pooler's reset): this session's
        // record of what it prepared is wrong, so it goes; the retry prepares them on another.
        if (sqlState(error) === '26000') broken = error;
        // Also when BEGIN or COMMIT itself failed: ROLLBACK outside a transaction only warns.
        await tx.finish('rollback').catch((rollbackFailed: unknown) => (broken = rollbackFailed ?? new Error('ROLLBACK failed')));
        throw error;
      }
    } finally {
      await release(runner, broken);
    }
  }
}

/**
 * Back to the pool, unless the session is not what the pool thinks: ROLLBACK failed (it may
 * still hold the transaction and its locks, or be dead) or its prepared statements were
 * deallocated behind our back. Then the pool destroys it instead of lending it again.
 */
async function release(runner: QueryRunner, broken: unknown): Promise<void> {
  const destroyable = runner as QueryRunner & { releasePostgresConnection?(err?: Error): Promise<void> };
  if (broken === undefined || !destroyable.releasePostgresConnection) return runner.release();
  return destroyable.releasePostgresConnection(broken instanceof Error ? broken : new Error(String(broken)));
}
