import { Client } from 'pg';
import { buildDataSourceOptions, guardClient } from './data-source-options';

const config = { migrationsRun: false, poolSize: 10, statementTimeoutMs: 1000 } as Parameters<typeof buildDataSourceOptions>[1];

/**
 * The process never dies of a database error (issue 16): node-postgres emits `error` on a
 * Client whose session dies, and an EventEmitter throws an `error` event nobody listens to.
 */
describe('pg clients of the pool', () => {
  it('an error event on a bare client throws (what killed the process)', () => {
    const client = new Client();
    expect(() => client.emit('error', new Error('terminating connection due to administrator command'))).toThrow(/administrator/);
  });

  it('a guarded client takes error events, also several, while checked out and after TypeORM removed its own listener', () => {
    const client = new Client();
    guardClient(client);
    const typeormListener = () => undefined;
    client.on('error', typeormListener);
    client.removeListener('error', typeormListener);
    expect(() => {
      client.emit('error', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));
      client.emit('error', new Error('Connection terminated unexpectedly'));
    }).not.toThrow();
  });

  it('every client the pool creates is guarded (onConnect), and an idle client error is only logged', () => {
    const options = buildDataSourceOptions('postgres://x@127.0.0.1/db', config, { entities: [], migrations: [] }) as {
      extra: { onConnect: (client: Client) => void };
      poolErrorHandler: (error: unknown) => void;
    };
    expect(options.extra.onConnect).toBe(guardClient);
    expect(() => options.poolErrorHandler(Object.assign(new Error('terminating connection'), { code: '57P01' }))).not.toThrow();
  });
});
