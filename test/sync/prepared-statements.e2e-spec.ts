import { TransactionRunner } from '@app/database';
import type { DeltaResponseDto } from '../../apps/api/src/sync/dto/delta-response.dto';
import { change, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Hot statements are planned once per connection (issue 13): the lock and the pull as SQL
 * PREPARE/EXECUTE (so they still travel with BEGIN and COMMIT), the group write as a
 * protocol-level named statement. With one pooled connection, what the sync path prepared
 * can be read back from pg_prepared_statements on that same session.
 */

/** A scenario touching both pull shapes (incremental and first sync), a conflict and a delete; what the devices see. */
async function scenario(t: TestApp, f: FamilyFixture) {
  const seen: DeltaResponseDto[] = [];
  const a = await syncOk(t, f.token(), {
    changes: [change({ entity_id: 'p1', data: { title: 'one' } }), change({ entity_id: 'p2', data: { title: 'two' } })],
  });
  seen.push(a);
  seen.push(await syncOk(t, f.token(), { device_id: 'other' })); // first sync: the state
  seen.push(
    await syncOk(t, f.token(), {
      device_id: 'other',
      last_sync_at: seen[1].last_sync_at,
      changes: [
        change({ entity_id: 'p1', action: 'update', version: 1, data: { title: 'uno' } }),
        change({ entity_id: 'p2', action: 'delete', version: 1 }),
      ],
    }),
  );
  // Stale: p1 is at version 2 now, a server_wins conflict (and an inbox entry).
  seen.push(
    await syncOk(t, f.token(), {
      last_sync_at: a.last_sync_at,
      changes: [
        change({ entity_id: 'p1', action: 'update', version: 1, data: { title: 'late' }, client_timestamp: '2020-01-01T00:00:00Z' }),
      ],
    }),
  );
  seen.push(await syncOk(t, f.token(), { device_id: 'third', limit: 1 })); // a paged first sync
  return seen.map((r) => ({
    applied: r.applied.map((x) => [x.entity_id, x.version]),
    conflicts: r.conflicts.map((c) => [c.entity_id, c.resolution]),
    // Conflict inbox entries have generated ids.
    server_changes: r.server_changes.map((c) => [
      c.entity_type,
      c.entity_type === 'conflict' ? 'inbox-entry' : c.entity_id,
      c.action,
      c.version,
      c.data?.title ?? null,
    ]),
    has_more: r.has_more,
  }));
}

async function preparedOnTheConnection(t: TestApp): Promise<{ name: string; from_sql: boolean }[]> {
  return t.app.get(TransactionRunner).run((tx) => tx.query('SELECT name, from_sql FROM pg_prepared_statements ORDER BY name'));
}

describe('prepared statements (DB_PREPARED_STATEMENTS)', () => {
  let on: TestApp;
  let off: TestApp;
  beforeAll(async () => {
    on = await startTestApp({ DB_POOL_SIZE: '1' });
    off = await startTestApp({ DB_POOL_SIZE: '1', DB_PREPARED_STATEMENTS: 'false' });
  });
  afterAll(async () => {
    await on?.close();
    await off?.close();
  });

  it('on: the lock, the pulls and the writes are prepared on the session; off: nothing is; the answers are the same', async () => {
    const withPrepared = await scenario(on, await createFamily(on, 'pat'));
    const inlined = await scenario(off, await createFamily(off, 'pat'));
    expect(withPrepared).toEqual(inlined);
    expect(withPrepared[1].server_changes).toHaveLength(2);
    expect(withPrepared[3].conflicts).toEqual([['p1', 'server_wins']]);

    const names = await preparedOnTheConnection(on);
    const sql = names.filter((s) => s.from_sql).map((s) => s.name.replace(/_[0-9a-f]{12}$/, ''));
    expect(sql).toEqual(['sync_lock_family', 'sync_pull_since', 'sync_pull_state']);
    // The group write of each shape that ran (tasks; the conflict inbox alone). The load is planned on
    // every call: a generic plan for arrays of unknown length was slower (see SyncRepository.loadGroup).
    expect(names.filter((s) => !s.from_sql).map((s) => s.name)).toEqual([expect.stringMatching(/^q_/), expect.stringMatching(/^q_/)]);
    expect(await preparedOnTheConnection(off)).toEqual([]);
  });

  it('a push of more ids than a prepared pull takes (128) is pulled inline: its own rows are still not echoed, others get them all', async () => {
    const f = await createFamily(on, 'big');
    const changes = Array.from({ length: 150 }, (_, i) => change({ entity_id: `b${i}`, data: { title: `n${i}` } }));
    const pushed = await syncOk(on, f.token(), { device_id: 'pusher', changes });
    expect(pushed.applied).toHaveLength(150);
    expect(pushed.server_changes).toEqual([]);
    const other = await syncOk(on, f.token(), { device_id: 'reader' });
    expect(other.server_changes.map((c) => c.entity_id).sort()).toEqual(changes.map((c) => c.entity_id).sort());
  });

  it('a session whose statements were deallocated (DISCARD ALL, a pooler reset) prepares them again: the push applies once', async () => {
    const f = await createFamily(on, 'dee');
    const first = await syncOk(on, f.token(), { changes: [change({ entity_id: 'd1', data: { title: 'a' } })] });
    expect((await preparedOnTheConnection(on)).length).toBeGreaterThan(0);
    await on.app.get(TransactionRunner).run((tx) => tx.query('DEALLOCATE ALL'));
    expect(await preparedOnTheConnection(on)).toEqual([]);

    const next = await syncOk(on, f.token(), {
      last_sync_at: first.last_sync_at,
      changes: [change({ entity_id: 'd1', action: 'update', version: 1, data: { title: 'b' } })],
    });
    expect(next.applied).toEqual([expect.objectContaining({ entity_id: 'd1', version: 2 })]);
    const after = await syncOk(on, f.token(), { device_id: 'fresh' });
    expect(after.server_changes).toEqual([
      expect.objectContaining({ entity_id: 'd1', version: 2, data: expect.objectContaining({ title: 'b' }) }),
    ]);
    expect((await preparedOnTheConnection(on)).map((s) => s.name)).toContain('sync_lock_family');
  });
});
