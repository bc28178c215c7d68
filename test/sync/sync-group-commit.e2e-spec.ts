import { Client } from 'pg';
import { bearer } from '@app/testing';
import { COMMIT_CHANNEL } from '../../apps/api/src/sync/pull/commit-notice';
import { sqlClient } from '../support/db-state';
import { replayAll } from '../support/replay-helpers';
import { metricsText, sample } from '../support/operations-helpers';
import { change, createFamily, FamilyFixture, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Group commit (issue 13): pushes of one family that queue on this instance behind a group
 * holding the family lock run as the next group, in one transaction, in arrival order, with
 * the same results as one after another. A group is formed here deterministically: the
 * first push holds the family lock while it is blocked on a task row the test locked; the
 * next pushes queue behind it (in arrival order) and run together once it ends.
 */
jest.setTimeout(120_000);

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON responses

let clock = Date.parse('2020-01-01T00:00:00.000Z');
const ts = () => new Date((clock += 1000)).toISOString();

async function post(t: TestApp, token: string, body: Body): Promise<{ status: number; retryAfter: string | null; body: Body }> {
  const res = await fetch(`${t.baseUrl}/sync/delta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Body };
}

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const outcomes = (b: Body) => ({ applied: b.applied, conflicts: b.conflicts, errors: b.errors, success: b.success });

describe('group commit per family (issue 13)', () => {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;
  let bob: string;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    f = await createFamily(t, 'alice');
    bob = await f.addMember('bob');
    sql = await sqlClient(t, 'e2e-group-commit');
  });

  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  /** Pushes waiting for or running in a group commit on the app (the metric, read over HTTP). */
  const inFlight = async () => sample(await metricsText(t), 'sync_pushes_in_flight');

  /**
   * Runs `bodies` as one group: a first push (`blocker`) takes the family lock and blocks on
   * a locked task row; the bodies queue behind it one by one; then the row is released.
   */
  async function asOneGroup(prefix: string, bodies: { token: string; body: Body }[]) {
    await syncOk(t, f.token(), {
      device_id: 'blocker',
      changes: [change({ entity_id: `${prefix}-block`, data: { title: 'new' }, client_timestamp: ts() })],
    });
    const holder = await sqlClient(t, 'e2e-row-holder');
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM tasks WHERE family_id = $1 AND id = $2 FOR UPDATE', [f.familyId, `${prefix}-block`]);
      const update = change({
        entity_id: `${prefix}-block`,
        action: 'update',
        version: 1,
        data: { title: 'blocker' },
        client_timestamp: ts(),
      });
      const blocker = post(t, f.token(), { device_id: 'blocker', changes: [update] });
      await waitFor('the blocker to hold the family lock, blocked on the row', async () => {
        const { rows } = await sql.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'delta-sync' AND wait_event_type = 'Lock'`,
        );
        return rows[0].n === 1;
      });
      expect(await inFlight()).toBe(1);
      const answers: Promise<{ status: number; retryAfter: string | null; body: Body }>[] = [];
      for (const [i, { token, body }] of bodies.entries()) {
        answers.push(post(t, token, body));
        await waitFor(`push ${i} to queue`, async () => (await inFlight()) === i + 2);
      }
      await holder.query('ROLLBACK');
      expect((await blocker).status).toBe(200);
      return await Promise.all(answers);
    } finally {
      await holder.end();
    }
  }

  /** Transactions (xmin) that last wrote the family's tasks matching `like` (the blocker's row aside). */
  async function writers(like: string): Promise<number> {
    const { rows } = await sql.query(
      `SELECT count(DISTINCT xmin::text)::int AS n FROM tasks WHERE family_id = $1 AND id LIKE $2 AND id NOT LIKE '%-block'`,
      [f.familyId, like],
    );
    return rows[0].n;
  }

  it('mixed atomic and non-atomic pushes of several devices in one group: the same outcomes and rows as one by one', async () => {
    const at = [ts(), ts(), ts(), ts(), ts()];
    const bodies = (owner: string, member: string) => [
      {
        token: owner,
        body: { device_id: 'phone', changes: [change({ entity_id: 'mix-a', data: { title: 'new' }, client_timestamp: at[0] })] },
      },
      {
        token: member,
        body: {
          device_id: 'tablet',
          atomic: true,
          changes: [
            change({ entity_id: 'mix-x', data: { title: 'new' }, client_timestamp: at[1] }),
            change({ entity_id: 'mix-missing', action: 'update', version: 3, data: { title: 'no such task' }, client_timestamp: at[1] }),
          ],
        },
      },
      {
        token: member,
        body: {
          device_id: 'watch',
          atomic: true,
          changes: [change({ entity_id: 'mix-a', action: 'update', version: 1, data: { title: 'watch saw a' }, client_timestamp: at[2] })],
        },
      },
      {
        token: owner,
        body: {
          device_id: 'phone',
          changes: [
            change({ entity_id: 'mix-a', action: 'update', version: 1, data: { desc: 'stale version' }, client_timestamp: at[3] }),
            change({ entity_id: 'mix-b', data: { title: 'b' }, client_timestamp: at[4] }),
          ],
        },
      },
    ];
    const grouped = await asOneGroup('mix', bodies(f.token(), bob));
    // The reference: the same pushes one after another in another family.
    const other = await createFamily(t, 'carol');
    const dave = await other.addMember('dave');
    const oneByOne = [];
    for (const { token, body } of bodies(other.token(), dave)) oneByOne.push(await post(t, token, body));

    expect(grouped.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(grouped.map((r) => outcomes(r.body))).toEqual(oneByOne.map((r) => outcomes(r.body)));
    expect(grouped[1].body.applied).toEqual([]); // the failed atomic push wrote nothing
    expect(grouped[2].body.applied).toEqual([{ entity_type: 'task', entity_id: 'mix-a', version: 2 }]);
    const rowsOf = async (familyId: string) =>
      (
        await sql.query(
          `SELECT id, version, data, deleted_us IS NULL AS live FROM tasks WHERE family_id = $1 AND id LIKE 'mix-%' AND id <> 'mix-block' ORDER BY id`,
          [familyId],
        )
      ).rows;
    expect(await rowsOf(f.familyId)).toEqual(await rowsOf(other.familyId));
    expect(await writers('mix-%')).toBe(1); // one transaction wrote every row of the group
    // Each response's pull is read after the group: the first device sees a as the group left it.
    expect(grouped[0].body.server_changes).toEqual(
      expect.arrayContaining([expect.objectContaining({ entity_id: 'mix-a', version: (await rowsOf(f.familyId))[0].version })]),
    );
    const devices = await sql.query(
      `SELECT device_id, sync_count::int FROM sync_devices WHERE family_id = $1 AND device_id IN ('phone', 'tablet', 'watch') ORDER BY device_id`,
      [f.familyId],
    );
    expect(devices.rows).toEqual([
      { device_id: 'phone', sync_count: 2 },
      { device_id: 'tablet', sync_count: 1 },
      { device_id: 'watch', sync_count: 1 },
    ]);
  });

  it('a retry arriving in the same group as its original gets the original outcome and applies nothing twice', async () => {
    const body = {
      device_id: 'phone-r',
      changes: [
        change({ entity_id: 'rt-1', data: { title: 'new' }, client_timestamp: ts() }),
        change({ entity_type: 'points_ledger', entity_id: 'rt-pl', data: { userId: 'alice', delta: 5 }, client_timestamp: ts() }),
      ],
    };
    const [original, retry] = await asOneGroup('rt', [
      { token: f.token(), body },
      { token: f.token(), body },
    ]);
    expect([original.status, retry.status]).toEqual([200, 200]);
    expect(outcomes(retry.body)).toEqual(outcomes(original.body));
    expect(original.body.applied).toHaveLength(2);
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM points_ledger WHERE family_id = $1 AND id = 'rt-pl'`, [f.familyId]);
    expect(rows[0].n).toBe(1);
    const receipts = await sql.query(`SELECT count(*)::int AS n FROM sync_receipts WHERE family_id = $1 AND device_id = 'phone-r'`, [
      f.familyId,
    ]);
    expect(receipts.rows[0].n).toBe(2);
  });

  it('a fault in the middle of a group rolls all of it back, every push gets 503, and the resends apply exactly once', async () => {
    // The group's one write statement kills its own backend when it writes task "fault-boom".
    await sql.query(`CREATE OR REPLACE FUNCTION e2e_group_fault() RETURNS trigger AS $$
      BEGIN IF NEW.id = 'fault-boom' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await sql.query(`CREATE TRIGGER e2e_group_fault BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION e2e_group_fault()`);
    const bodies = [
      {
        token: f.token(),
        body: { device_id: 'f-phone', changes: [change({ entity_id: 'fault-a', data: { title: 'new' }, client_timestamp: ts() })] },
      },
      {
        token: bob,
        body: { device_id: 'f-tablet', changes: [change({ entity_id: 'fault-boom', data: { title: 'new' }, client_timestamp: ts() })] },
      },
      {
        token: bob,
        body: {
          device_id: 'f-watch',
          atomic: true,
          changes: [change({ entity_id: 'fault-c', data: { title: 'new' }, client_timestamp: ts() })],
        },
      },
    ];
    let answers;
    try {
      answers = await asOneGroup('fault', bodies);
    } finally {
      await sql.query('DROP TRIGGER e2e_group_fault ON tasks');
    }
    for (const a of answers) {
      expect({ status: a.status, error: a.body.error }).toEqual({ status: 503, error: 'database_unavailable' });
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    const stored = await sql.query(
      `SELECT count(*)::int AS n FROM tasks WHERE family_id = $1 AND id IN ('fault-a', 'fault-boom', 'fault-c')`,
      [f.familyId],
    );
    expect(stored.rows[0].n).toBe(0);
    const receipts = await sql.query(`SELECT count(*)::int AS n FROM sync_receipts WHERE family_id = $1 AND device_id LIKE 'f-%'`, [
      f.familyId,
    ]);
    expect(receipts.rows[0].n).toBe(0);

    // Resent (twice, the second time all at once): each change applied exactly once.
    const first = await Promise.all(bodies.map(({ token, body }) => post(t, token, body)));
    const again = await Promise.all(bodies.map(({ token, body }) => post(t, token, body)));
    expect(first.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(again.map((r) => outcomes(r.body))).toEqual(first.map((r) => outcomes(r.body)));
    const rows = await sql.query(
      `SELECT id, version FROM tasks WHERE family_id = $1 AND id LIKE 'fault-%' AND id <> 'fault-block' ORDER BY id`,
      [f.familyId],
    );
    expect(rows.rows).toEqual([
      { id: 'fault-a', version: 1 },
      { id: 'fault-boom', version: 1 },
      { id: 'fault-c', version: 1 },
    ]);
  });

  it('one NOTIFY per group commit, at the final position, naming every device of the group (none is poked by its own change only)', async () => {
    const listener = await sqlClient(t, 'e2e-group-listener');
    const notices: Body[] = [];
    listener.on('notification', (n) => n.channel === COMMIT_CHANNEL && notices.push(JSON.parse(n.payload!)));
    await listener.query(`LISTEN ${COMMIT_CHANNEL}`);
    try {
      const answers = await asOneGroup('nt', [
        {
          token: f.token(),
          body: { device_id: 'n-phone', changes: [change({ entity_id: 'nt-a', data: { title: 'new' }, client_timestamp: ts() })] },
        },
        {
          token: bob,
          body: { device_id: 'n-tablet', changes: [change({ entity_id: 'nt-b', data: { title: 'new' }, client_timestamp: ts() })] },
        },
      ]);
      await waitFor('the notices of the blocker and the group', () => notices.filter((n) => n.f === f.familyId).length >= 3);
      const [, , group] = notices.filter((n) => n.f === f.familyId);
      const finalPosition = answers[1].body.last_sync_at;
      // Both responses end at the group's final position: neither device needs a poke.
      expect(answers[0].body.last_sync_at).toBe(finalPosition);
      expect(group).toEqual({ f: f.familyId, p: finalPosition, d: ['n-phone', 'n-tablet'] });
      // The phone's response already carries the tablet's change of the same group.
      expect(answers[0].body.server_changes).toEqual(expect.arrayContaining([expect.objectContaining({ entity_id: 'nt-b' })]));
    } finally {
      await listener.end();
    }
  });

  it('every push of these group commits was recorded with the state it met, and replays the same (PROTOCOL 2.11)', async () => {
    const replayed = await replayAll(t, f.token());
    expect(replayed.records).toBeGreaterThan(10);
    expect(replayed.differences).toEqual([]);
  });
});
