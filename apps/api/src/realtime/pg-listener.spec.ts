import { EventEmitter } from 'node:events';
import { PgListener } from './pg-listener';

/** A stand-in for pg's Client: an EventEmitter that connects and LISTENs at once. */
class FakeClient extends EventEmitter {
  static made: FakeClient[] = [];
  ended = false;
  constructor(readonly options: Record<string, unknown>) {
    super();
    FakeClient.made.push(this);
  }
  connect = jest.fn(async () => undefined);
  query = jest.fn(async () => ({ rows: [] }));
  end = jest.fn(async () => {
    this.ended = true;
  });
}

jest.mock('pg', () => ({ Client: jest.fn((options) => new FakeClient(options)) }));

const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
const hub = { families: () => [], members: () => [], commit: jest.fn(), removeMember: jest.fn(), catchUp: jest.fn() };
const config = { get: () => ({ listenUrl: 'postgres://listener@db/sync' }) };

function listener(): PgListener {
  return new PgListener(
    hub as never,
    {} as never,
    { listening: () => undefined } as never,
    logger as never,
    { url: 'postgres://pool@db/sync' } as never,
    config as never,
  );
}

describe('PgListener', () => {
  beforeEach(() => {
    FakeClient.made = [];
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('survives an error event on its LISTEN client and reconnects with a new client', async () => {
    const l = listener();
    await l.onApplicationBootstrap();
    const [first] = FakeClient.made;
    expect(first.options).toMatchObject({ connectionString: 'postgres://listener@db/sync', application_name: 'delta-sync-listener' });
    expect(first.query).toHaveBeenCalledWith('LISTEN sync_commit; LISTEN family_member_removed');
    expect(l.listening).toBe(true);

    // Without an 'error' listener this emit would throw (and kill the process).
    expect(() => first.emit('error', new Error('terminating connection due to administrator command'))).not.toThrow();
    first.emit('end');
    expect(first.ended).toBe(true);
    expect(l.listening).toBe(false);
    expect(logger.warn).toHaveBeenCalledTimes(1);

    await jest.runOnlyPendingTimersAsync();
    expect(FakeClient.made).toHaveLength(2);
    expect(l.listening).toBe(true);
    await l.beforeApplicationShutdown();
  });

  it('hands notifications to the hub and ignores unreadable ones', async () => {
    const l = listener();
    await l.onApplicationBootstrap();
    const [client] = FakeClient.made;
    client.emit('notification', { channel: 'sync_commit', payload: '{"f":"fam","p":"2025-01-01T00:00:00.000001Z","d":"phone"}' });
    client.emit('notification', { channel: 'family_member_removed', payload: '{"f":"fam","u":"bob"}' });
    expect(() => client.emit('notification', { channel: 'sync_commit', payload: 'not json' })).not.toThrow();
    expect(hub.commit).toHaveBeenCalledWith('fam', '2025-01-01T00:00:00.000001Z', 'phone');
    expect(hub.removeMember).toHaveBeenCalledWith('fam', 'bob');
    expect(logger.error).toHaveBeenCalledTimes(1);
    await l.beforeApplicationShutdown();
  });

  it('keeps retrying while the database is down, and stops on shutdown', async () => {
    const l = listener();
    const failing = jest.fn(async () => {
      throw new Error('ECONNREFUSED');
    });
    const { Client } = jest.requireMock('pg') as { Client: jest.Mock };
    Client.mockImplementation((options) => Object.assign(new FakeClient(options), { connect: failing }));
    await l.onApplicationBootstrap();
    await jest.runOnlyPendingTimersAsync();
    await jest.runOnlyPendingTimersAsync();
    expect(failing).toHaveBeenCalledTimes(3);
    await l.beforeApplicationShutdown();
    await jest.runOnlyPendingTimersAsync();
    expect(failing).toHaveBeenCalledTimes(3);
  });
});
