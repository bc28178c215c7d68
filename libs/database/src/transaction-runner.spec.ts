import type { DataSource } from 'typeorm';
import { isRetryableTransactionError, TransactionRunner } from './transaction-runner';
import type { WireTransaction } from './transaction';

/** A fake connection that records every message sent and fails the ones `failOn` picks. */
function fakeDatabase(failOn: (sql: string, attempt: number) => unknown = () => undefined) {
  const sent: string[][] = [];
  let released = 0;
  const destroyed: unknown[] = [];
  const dataSource = {
    createQueryRunner: () => {
      const messages: string[] = [];
      sent.push(messages);
      const attempt = sent.length;
      const send = async (sql: string) => {
        messages.push(sql);
        const error = failOn(sql, attempt);
        if (error) throw error;
      };
      const client = {
        query: async (sql: string) => {
          await send(sql);
          // Like pg: one result per statement of a message with several, each row naming its statement here.
          return sql.includes(';') ? sql.split('; ').map((statement) => ({ rows: [{ statement }] })) : { rows: [] };
        },
        escapeLiteral: (v: string) => `'${v.replace(/'/g, "''")}'`,
      };
      return {
        connect: async () => client,
        query: async (sql: string, _params?: unknown[], structured?: boolean) => {
          await send(sql);
          return structured ? { records: [], affected: 2 } : [{ row: sql }];
        },
        release: async () => {
          released++;
        },
        releasePostgresConnection: async (err?: Error) => {
          released++;
          if (err) destroyed.push(err);
        },
      };
    },
  } as unknown as DataSource;
  return { runner: new TransactionRunner(dataSource), sent, released: () => released, destroyed };
}

const sqlError = (code: string) => Object.assign(new Error(`failed with ${code}`), { code });
/** How TypeORM wraps a driver error: the SQLSTATE on driverError (and copied on the error). */
const wrapped = (code: string) => Object.assign(new Error('QueryFailedError'), { driverError: { code } });
const noWait = { backoffMs: () => 0 };

describe('TransactionRunner', () => {
  it('sends BEGIN with the first statement and COMMIT with the last: two messages', async () => {
    const db = fakeDatabase();
    const result = await db.runner.runWire(async (tx) => {
      const [locked] = await tx.begin('SELECT 1 AS lock');
      const [pulled] = await tx.commit('SELECT 2 AS pull');
      return { locked, pulled };
    });
    expect(db.sent).toEqual([['BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 1 AS lock', 'SELECT 2 AS pull; COMMIT']]);
    expect(result).toEqual({ locked: { statement: 'SELECT 1 AS lock' }, pulled: { statement: 'SELECT 2 AS pull' } });
    expect(db.released()).toBe(1);
  });

  it('sends a whole transaction in one message when commitAll is its first call: BEGIN, the statements, COMMIT, after', async () => {
    const db = fakeDatabase();
    const results = await db.runner.runWire((tx) => tx.commitAll(['SELECT 1 AS clock', 'EXECUTE pull(1)'], 'SELECT pg_notify(1)'), {
      isolation: 'REPEATABLE READ',
    });
    expect(db.sent).toEqual([['BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1 AS clock; EXECUTE pull(1); COMMIT; SELECT pg_notify(1)']]);
    // Each statement's own rows: not BEGIN's, not COMMIT's.
    expect(results).toEqual([[{ statement: 'SELECT 1 AS clock' }], [{ statement: 'EXECUTE pull(1)' }]]);
    expect(db.released()).toBe(1);
  });

  it('rolls back a one-message transaction whose statement failed', async () => {
    const db = fakeDatabase((sql) => (sql.includes('EXECUTE') ? sqlError('57014') : undefined));
    await expect(db.runner.runWire((tx) => tx.commitAll(['SELECT 1', 'EXECUTE pull(1)']))).rejects.toMatchObject({ code: '57014' });
    expect(db.sent).toEqual([['BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 1; EXECUTE pull(1); COMMIT', 'ROLLBACK']]);
    expect(db.released()).toBe(1);
  });

  it('opens with a plain BEGIN before a parametrised first statement and commits after the work', async () => {
    const db = fakeDatabase();
    const affected = await db.runner.runWire(
      async (tx) => {
        await tx.query('SELECT $1', [1]);
        return tx.execute('DELETE FROM t WHERE a = $1', [1]);
      },
      { isolation: 'REPEATABLE READ' },
    );
    expect(affected).toBe(2);
    expect(db.sent).toEqual([['BEGIN ISOLATION LEVEL REPEATABLE READ', 'SELECT $1', 'DELETE FROM t WHERE a = $1', 'COMMIT']]);
  });

  it('sends nothing for a work that runs no statement', async () => {
    const db = fakeDatabase();
    await expect(db.runner.runWire(async () => 'nothing')).resolves.toBe('nothing');
    expect(db.sent).toEqual([[]]);
    expect(db.released()).toBe(1);
  });

  it('rolls back and rethrows the error of the work, and releases the connection', async () => {
    const db = fakeDatabase();
    const boom = new Error('boom');
    await expect(
      db.runner.runWire(async (tx) => {
        await tx.begin('SELECT 1');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(db.sent).toEqual([['BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 1', 'ROLLBACK']]);
    expect(db.released()).toBe(1);
  });

  it('rolls back when the statement sent with COMMIT fails', async () => {
    const db = fakeDatabase((sql) => (sql.endsWith('; COMMIT') ? sqlError('57014') : undefined));
    await expect(
      db.runner.runWire(async (tx) => {
        await tx.begin('SELECT 1');
        return tx.commit('SELECT 2');
      }),
    ).rejects.toMatchObject({ code: '57014' });
    expect(db.sent).toEqual([['BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 1', 'SELECT 2; COMMIT', 'ROLLBACK']]);
    expect(db.released()).toBe(1);
  });

  it('destroys the connection when ROLLBACK itself fails (the session may still hold the transaction)', async () => {
    const lost = sqlError('57P01');
    const db = fakeDatabase((sql) => (sql === 'ROLLBACK' ? lost : sql.endsWith('; COMMIT') ? sqlError('23505') : undefined));
    await expect(db.runner.runWire((tx) => tx.commit('SELECT 2'))).rejects.toMatchObject({ code: '23505' });
    expect(db.released()).toBe(1);
    expect(db.destroyed).toEqual([lost]);
  });

  it('a session whose prepared statements are gone (26000) is destroyed and the work runs again on another', async () => {
    const gone = sqlError('26000');
    const db = fakeDatabase((sql, attempt) => (attempt === 1 && sql.includes('EXECUTE') ? gone : undefined));
    const result = await db.runner.runWire((tx) => tx.commit('EXECUTE sync_pull(1)'), noWait);
    expect(result).toEqual([{ statement: 'EXECUTE sync_pull(1)' }]);
    expect(db.destroyed).toEqual([gone]);
    expect(db.released()).toBe(2);
  });

  it('does not roll back a transaction that never began', async () => {
    const db = fakeDatabase();
    await expect(db.runner.runWire(async () => Promise.reject(new Error('before any statement')))).rejects.toThrow('before any statement');
    expect(db.sent).toEqual([[]]);
  });

  it('refuses begin() after another statement and a statement after commit()', async () => {
    const db = fakeDatabase();
    await expect(
      db.runner.runWire(async (tx) => {
        await tx.query('SELECT 1');
        await tx.begin('SELECT 2');
      }),
    ).rejects.toThrow(/first statement/);
    await expect(
      db.runner.runWire(async (tx) => {
        await tx.commit('SELECT 1');
        await tx.query('SELECT 2');
      }),
    ).rejects.toThrow(/already committed/);
  });

  it.each([
    ['serialization failure', sqlError('40001')],
    ['deadlock', sqlError('40P01')],
    ['deadlock wrapped by TypeORM', wrapped('40P01')],
  ])('runs the whole work again on a %s, on a fresh connection', async (_name, error) => {
    const db = fakeDatabase((sql, attempt) => (attempt === 1 && sql.includes('UPDATE') ? error : undefined));
    let calls = 0;
    const result = await db.runner.runWire(async (tx: WireTransaction) => {
      calls++;
      await tx.begin('SELECT 1');
      await tx.query('UPDATE t SET a = 1');
      return calls;
    }, noWait);
    expect(result).toBe(2);
    expect(db.sent).toEqual([
      ['BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 1', 'UPDATE t SET a = 1', 'ROLLBACK'],
      ['BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 1', 'UPDATE t SET a = 1', 'COMMIT'],
    ]);
    expect(db.released()).toBe(2);
  });

  it('gives up after three attempts and rethrows the last error', async () => {
    const db = fakeDatabase((sql) => (sql === 'COMMIT' ? sqlError('40001') : undefined));
    let calls = 0;
    await expect(
      db.runner.runWire(async (tx) => {
        calls++;
        await tx.query('UPDATE t SET a = 1');
      }, noWait),
    ).rejects.toMatchObject({ code: '40001' });
    expect(calls).toBe(3);
    expect(db.released()).toBe(3);
  });

  it.each([
    ['unique violation', sqlError('23505')],
    ['statement timeout', sqlError('57014')],
    ['lock timeout', sqlError('55P03')],
    ['an error without a code', new Error('plain')],
  ])('never retries a %s', async (_name, error) => {
    const db = fakeDatabase();
    let calls = 0;
    await expect(
      db.runner.runWire(async (tx) => {
        calls++;
        await tx.query('SELECT 1');
        throw error;
      }, noWait),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it('waits the backoff it is given before each new attempt', async () => {
    const waits: number[] = [];
    const db = fakeDatabase((sql) => (sql === 'COMMIT' ? sqlError('40P01') : undefined));
    await expect(
      db.runner.runWire(async (tx) => tx.query('SELECT 1'), { backoffMs: (attempt) => (waits.push(attempt), 0) }),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(waits).toEqual([2, 3]);
  });
});

describe('isRetryableTransactionError', () => {
  it.each([
    [sqlError('40001'), true],
    [wrapped('40001'), true],
    [sqlError('40P01'), true],
    [sqlError('40002'), false],
    [null, false],
    ['40001', false],
  ])('%p -> %p', (error, expected) => expect(isRetryableTransactionError(error)).toBe(expected));
});
