import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { concurrencySuite, sleep, sync } from '../support/concurrency-helpers';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';

/**
 * Concurrency of POST /sync/delta (PROTOCOL 2, 2.1, 2.4), one of two suites
 * (sync-concurrency*.e2e-spec.ts, helpers in test/support/concurrency-helpers.ts). Requests go
 * over real HTTP (fetch) so they really run concurrently. This part: families
 * never wait for each other; one family's changes are serialised.
 */

// The project's testTimeout does not reach tests run with --selectProjects: set it here.
jest.setTimeout(60_000);

describe('sync concurrency (several families; one family serialised)', () => {
  const { app } = concurrencySuite();

  it('two families never wait for each other; a held family lock delays only that family', async () => {
    const a = await createFamily(app(), 'anna', 'Family A');
    const b = await createFamily(app(), 'boris', 'Family B');
    const now = () => new Date().toISOString();
    const create = (id: string) => ({ entity_type: 'task', entity_id: id, action: 'create', data: { title: id }, client_timestamp: now() });
    // The first sync of each family creates its lock row.
    await sync(app(), a.token(), { device_id: 'a1', changes: [create('a-0')] });
    await sync(app(), b.token(), { device_id: 'b1', changes: [create('b-0')] });

    const holder = new Client({ connectionString: app().db.url });
    await holder.connect();
    let released = false;
    try {
      await holder.query('BEGIN');
      const locked = await holder.query('SELECT family_id FROM family_sync_state WHERE family_id = $1 FOR UPDATE', [a.familyId]);
      expect(locked.rowCount).toBe(1);

      let aDoneAt: number | undefined;
      const aRequest = sync(app(), a.token(), { device_id: 'a1', changes: [create('a-1')] }).then((body) => {
        aDoneAt = Date.now();
        return body;
      });
      await sleep(100); // A's request is now waiting for the lock

      // Family B is not blocked: several syncs with writes complete promptly.
      for (let i = 1; i <= 3; i++) {
        const startedAt = Date.now();
        const body = await sync(app(), b.token(), { device_id: 'b1', changes: [create(`b-${i}`)] });
        expect(body.applied).toEqual([expect.objectContaining({ entity_id: `b-${i}`, version: 1 })]);
        expect(Date.now() - startedAt).toBeLessThan(2000);
      }
      await sleep(400);
      expect(aDoneAt).toBeUndefined();

      const releasedAt = Date.now();
      await holder.query('COMMIT');
      released = true;
      const aBody = await aRequest;
      expect(aDoneAt).toBeDefined();
      expect(aDoneAt!).toBeGreaterThanOrEqual(releasedAt);
      expect(aBody.applied).toEqual([expect.objectContaining({ entity_id: 'a-1', version: 1 })]);
    } finally {
      if (!released) await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  describe('same-family serialisation: N parallel updates based on the same version', () => {
    const N = 8;
    let f: FamilyFixture;
    beforeAll(async () => {
      f = await createFamily(app(), 'alice', 'Serial family');
    });

    async function race(id: string, timestamps: string[]) {
      const base = new Date(Date.now() - 600_000).toISOString();
      const created = await sync(app(), f.token(), {
        device_id: 'creator',
        changes: [{ entity_type: 'task', entity_id: id, action: 'create', data: { title: 'original', points: 1 }, client_timestamp: base }],
      });
      expect(created.applied).toEqual([expect.objectContaining({ version: 1 })]);
      const bodies = await Promise.all(
        timestamps.map((ts, i) =>
          sync(app(), f.token(), {
            device_id: `racer-${i}`,
            last_sync_at: created.last_sync_at,
            changes: [
              { entity_type: 'task', entity_id: id, action: 'update', version: 1, data: { title: `racer ${i}` }, client_timestamp: ts },
            ],
          }),
        ),
      );
      const [row]: { version: number; data: Record<string, unknown> }[] = await app()
        .app.get(DataSource)
        .query('SELECT version, data FROM tasks WHERE family_id = $1 AND id = $2', [f.familyId, id]);
      return { bodies, row };
    }

    it('equal client timestamps: exactly one applied, the others lose with Version mismatch', async () => {
      const ts = new Date(Date.now() - 60_000).toISOString();
      const { bodies, row } = await race(
        'same-ts',
        Array.from({ length: N }, () => ts),
      );
      const applied = bodies.filter((b) => b.applied.length === 1);
      expect(applied).toHaveLength(1);
      expect(applied[0]).toMatchObject({ success: true, conflicts: [], applied: [{ entity_id: 'same-ts', version: 2 }] });
      const winner = applied[0].applied[0];
      expect(winner.data).toBeUndefined(); // based on the current version: no data needed
      for (const b of bodies.filter((x) => x !== applied[0])) {
        expect(b.applied).toEqual([]);
        expect(b.conflicts).toEqual([
          expect.objectContaining({
            entity_id: 'same-ts',
            resolution: 'server_wins',
            conflict_reason: 'Version mismatch',
            client_version: 1,
            server_version: 2,
            rejected_fields: ['title'],
            server_data: row.data,
          }),
        ]);
      }
      expect(row.version).toBe(2);
      // The winner's title is the one stored.
      const winnerIndex = bodies.indexOf(applied[0]);
      expect(row.data.title).toBe(`racer ${winnerIndex}`);
    });

    it('distinct client timestamps: one version-1 write, later newer writes win by LWW; final version = 1 + applied', async () => {
      const now = Date.now();
      // Distinct times in a random order; index -> time.
      const offsets = Array.from({ length: N }, (_, i) => i).sort(() => Math.random() - 0.5);
      const timestamps = offsets.map((o) => new Date(now - 60_000 + o * 1000).toISOString());
      const { bodies, row } = await race('lww', timestamps);
      let appliedCount = 0;
      const versions: number[] = [];
      for (const b of bodies) {
        expect(b.errors).toEqual([]);
        if (b.applied.length === 1) {
          appliedCount++;
          versions.push(b.applied[0].version);
          expect(b.conflicts).toEqual([]);
        } else {
          expect(b.applied).toEqual([]);
          expect(b.conflicts).toEqual([
            expect.objectContaining({ resolution: 'server_wins', conflict_reason: 'Version mismatch', rejected_fields: ['title'] }),
          ]);
        }
      }
      // Exactly one change was based on the current version (applied without data); every
      // other applied one won by a newer timestamp and carries the resulting state.
      const byCurrent = bodies.filter((b) => b.applied.length === 1 && b.applied[0].data === undefined);
      expect(byCurrent).toHaveLength(1);
      expect(byCurrent[0].applied[0].version).toBe(2);
      expect(versions.sort((x, y) => x - y)).toEqual(Array.from({ length: appliedCount }, (_, i) => i + 2));
      expect(row.version).toBe(1 + appliedCount);
      // The newest timestamp wins the field in the end.
      const newest = offsets.indexOf(N - 1);
      expect(row.data.title).toBe(`racer ${newest}`);
    });
  });
});
