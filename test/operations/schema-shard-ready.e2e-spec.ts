import { Client } from 'pg';
import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { sqlClient } from '../support/db-state';
import { CapturedQuery, captureQueries } from '../support/query-capture';

/**
 * The family is the unit of sharding (README "Scaling"): on Citus every family table is
 * distributed by family_id and colocated with `families` (distributed by id). That needs
 * (1) family_id in every table of family data, leading its primary key and every unique
 * index (a unique constraint must contain the distribution column; leading it also keeps
 * a family's rows together in each index), foreign keys that include it; and (2) every
 * statement of the sync path constrained to one family, so it routes to one shard.
 *
 * (2) is checked on the real statements of a push and a pull: the pg driver's
 * Client.prototype.query is observed in this process (the app runs in it), and each
 * statement touching a family table is EXPLAINed (not executed) on the same database: every
 * scan of a family table in its plan must carry a family_id condition (index condition,
 * filter, or the join condition that feeds it), and every INSERT must write family_id.
 * pg_stat_statements is not needed and the server log is not read.
 */

/** Tables that are not family data. */
const GLOBAL_TABLES: Record<string, string> = {
  families: 'the family itself: distributed by its id, the key every family table is colocated on',
  migrations: "TypeORM's bookkeeping: a local table of the coordinator",
};

interface Captured extends CapturedQuery {
  /** For `EXECUTE name(...)`: the prepared statement's text (what it touches and inserts). */
  prepared?: string;
}

describe('schema ready to shard by family', () => {
  let t: TestApp;
  let sql: Client;
  let familyTables: string[];

  beforeAll(async () => {
    t = await startTestApp();
    sql = await sqlClient(t, 'shard-check');
    const { rows } = await sql.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'family_id' ORDER BY 1`,
    );
    familyTables = rows.map((r) => r.table_name);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('every table holds family data (family_id NOT NULL) or is one of the known global tables', async () => {
    const { rows } = await sql.query<{ table_name: string; family_id_nullable: string | null }>(
      `SELECT t.table_name, c.is_nullable AS family_id_nullable
       FROM information_schema.tables t
       LEFT JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.column_name = 'family_id'
       WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY 1`,
    );
    const withoutFamily = rows.filter((r) => r.family_id_nullable === null).map((r) => r.table_name);
    expect(withoutFamily.sort()).toEqual(Object.keys(GLOBAL_TABLES).sort());
    expect(rows.filter((r) => r.family_id_nullable === 'YES')).toEqual([]);
    expect(familyTables).toEqual(
      expect.arrayContaining([
        'tasks',
        'events',
        'points_ledger',
        'user_streaks',
        'badges',
        'family_members',
        'family_sync_state',
        'sync_receipts',
        'sync_devices',
        'task_completions',
      ]),
    );
  });

  it('family_id leads the primary key and every unique index of every family table', async () => {
    const { rows } = await sql.query<{ table_name: string; index_name: string; primary: boolean; first_column: string | null }>(
      `SELECT c.relname AS table_name, i.relname AS index_name, x.indisprimary AS primary, a.attname AS first_column
       FROM pg_index x
       JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class i ON i.oid = x.indexrelid
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
       WHERE n.nspname = 'public' AND x.indisunique AND c.relname = ANY($1)`,
      [familyTables],
    );
    expect(rows.filter((r) => r.first_column !== 'family_id')).toEqual([]);
    const withPrimaryKey = new Set(rows.filter((r) => r.primary).map((r) => r.table_name));
    expect(familyTables.filter((table) => !withPrimaryKey.has(table))).toEqual([]);
  });

  it("every foreign key of a family table includes family_id (colocated), and families' key is its id", async () => {
    const { rows } = await sql.query<{ table_name: string; columns: string[]; references: string; ref_columns: string[] }>(
      `SELECT c.conrelid::regclass::text AS table_name, c.confrelid::regclass::text AS references,
              array(SELECT attname FROM pg_attribute WHERE attrelid = c.conrelid AND attnum = ANY(c.conkey))::text[] AS columns,
              array(SELECT attname FROM pg_attribute WHERE attrelid = c.confrelid AND attnum = ANY(c.confkey))::text[] AS ref_columns
       FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(familyTables.length);
    for (const fk of rows) {
      expect(fk.columns).toContain('family_id');
      if (fk.references === 'families') expect(fk.ref_columns).toEqual(['id']);
      else expect(fk.ref_columns).toContain('family_id');
    }
    const { rows: pk } = await sql.query(
      `SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey)
       WHERE x.indrelid = 'families'::regclass AND x.indisprimary`,
    );
    expect(pk).toEqual([{ attname: 'id' }]);
  });

  it('every statement of a push and a pull touching family tables is constrained to the family', async () => {
    const f = await createFamily(t, 'ann');
    const bob = await f.addMember('bob');
    const captured = await captureQueries(async () => {
      // A push: creates, a completion (gamification rows), a stale update (conflict), an event.
      const first = await syncOk(t, f.token(), {
        device_id: 'phone',
        changes: [
          change({ entity_id: 'task-1', data: { title: 'Dishes', points: 10, assignees: ['bob'] } }),
          change({ entity_type: 'event', entity_id: 'ev-1', data: { title: 'Party', start: '2025-11-11T18:00:00Z' } }),
        ],
      });
      await syncOk(t, bob, {
        device_id: 'tablet',
        last_sync_at: first.last_sync_at,
        changes: [
          change({ entity_id: 'task-1', action: 'update', version: 1, data: { status: 'done' }, change_id: 'done-1' }),
          change({ entity_id: 'task-1', action: 'update', version: 1, data: { title: 'stale' }, client_timestamp: '2020-01-01T00:00:00Z' }),
        ],
      });
      // The same push again: answered from the receipts.
      await syncOk(t, bob, {
        device_id: 'tablet',
        last_sync_at: first.last_sync_at,
        changes: [change({ entity_id: 'task-1', action: 'update', version: 1, data: { status: 'done' }, change_id: 'done-1' })],
      });
      // Pulls: incremental and first sync.
      await syncOk(t, f.token(), { device_id: 'phone', last_sync_at: first.last_sync_at });
      await syncOk(t, f.token(), { device_id: 'laptop', limit: 2 });
    });

    // SQL-level prepared statements (the lock, the pulls) are prepared on this client too, so
    // that their EXECUTEs can be EXPLAINed with the arguments the service sent.
    const prepared = new Map<string, string>();
    for (const c of captured) {
      const m = /^PREPARE (\w+)\([^)]*\) AS ([\s\S]*)$/.exec(c.text);
      if (m && !prepared.has(m[1])) {
        prepared.set(m[1], m[2]);
        await sql.query(c.text);
      }
    }
    const statements = captured
      .filter((c) => !c.text.startsWith('PREPARE '))
      .flatMap(splitStatements)
      .map((s) => ({ ...s, prepared: prepared.get(/^\s*EXECUTE (\w+)\(/.exec(s.text)?.[1] ?? '') }))
      .filter((s) => touchedTables(s.prepared ?? s.text, familyTables).length > 0);
    const touched = new Set(statements.flatMap((s) => touchedTables(s.prepared ?? s.text, familyTables)));
    expect(statements.filter((s) => s.prepared).length).toBeGreaterThanOrEqual(2);
    // The capture saw the whole sync path: lock, receipts, rows, writes, gamification, pull.
    expect([...touched].sort()).toEqual(
      expect.arrayContaining([
        'family_members',
        'family_sync_state',
        'sync_receipts',
        'sync_devices',
        'tasks',
        'events',
        'task_completions',
        'points_ledger',
        'user_streaks',
        'badges',
      ]),
    );
    const problems: string[] = [];
    for (const s of statements) {
      const plan = await explain(sql, s);
      const text = s.prepared ?? s.text;
      problems.push(...unconstrainedScans(plan, familyTables).map((p) => `${p}\n  in: ${text.replace(/\s+/g, ' ').slice(0, 300)}`));
      for (const m of text.matchAll(/INSERT INTO (\w+)\s*\(([^)]*)\)/gi)) {
        if (familyTables.includes(m[1]) && !/\bfamily_id\b/.test(m[2]))
          problems.push(`INSERT INTO ${m[1]} without family_id: ${text.slice(0, 200)}`);
      }
    }
    if (process.env.SHARD_DEBUG)
      process.stderr.write(`checked ${statements.length} statements of ${captured.length} captured: ${[...touched].join(',')}\n`);
    expect(problems).toEqual([]);
    expect(statements.length).toBeGreaterThanOrEqual(10);
  });

  it('the plan check finds statements that are not constrained to one family', async () => {
    const check = async (text: string, values?: unknown[]) => unconstrainedScans(await explain(sql, { text, values }), familyTables);
    expect(await check("SELECT * FROM tasks WHERE id = 'x'")).toEqual([expect.stringMatching(/on tasks without a family_id condition/)]);
    expect(
      await check('SELECT t.id FROM tasks t JOIN events e ON e.id = t.id WHERE t.family_id = $1', ['00000000-0000-0000-0000-000000000000']),
    ).toEqual([expect.stringMatching(/on events without a family_id condition/)]);
    expect(await check('UPDATE sync_devices SET sync_count = 0 WHERE device_id = $1', ['d'])).toHaveLength(1);
    expect(
      await check('SELECT 1 FROM tasks t JOIN events e ON e.family_id = t.family_id AND e.id = t.id WHERE t.family_id = $1', [
        '00000000-0000-0000-0000-000000000000',
      ]),
    ).toEqual([]);
  });
});

const CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE|SET|SHOW)\b/i;

/** A simple-protocol text such as `BEGIN ...; SELECT ...; COMMIT` as its statements (the test's ids hold no `;`). */
function splitStatements(c: Captured): Captured[] {
  if (c.values && c.values.length > 0) return CONTROL.test(c.text) ? [] : [c];
  return c.text
    .split(/;\s*(?=BEGIN|COMMIT|SELECT|WITH|INSERT|UPDATE|DELETE|ROLLBACK|EXECUTE)/i)
    .filter((text) => text.trim() !== '' && !CONTROL.test(text))
    .map((text) => ({ text }));
}

function touchedTables(text: string, tables: string[]): string[] {
  return tables.filter((table) => new RegExp(`\\b(FROM|JOIN|INTO|UPDATE)\\s+${table}\\b`, 'i').test(text));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed EXPLAIN JSON / YAML documents of open shape, read field by field
type PlanNode = Record<string, any>;

async function explain(sql: Client, s: Captured): Promise<PlanNode> {
  const { rows } = await sql.query(`EXPLAIN (FORMAT JSON, VERBOSE) ${s.text}`, s.values);
  return rows[0]['QUERY PLAN'][0].Plan;
}

const SCAN_CONDITIONS = ['Index Cond', 'Recheck Cond', 'Filter', 'TID Cond'];
const JOIN_CONDITIONS = ['Hash Cond', 'Merge Cond', 'Join Filter'];

/** Scans of family tables in `plan` whose rows no family_id condition restricts. */
function unconstrainedScans(plan: PlanNode, familyTables: string[], joinConds: string[] = []): string[] {
  const own = JOIN_CONDITIONS.map((k) => plan[k]).filter(Boolean);
  const problems: string[] = [];
  const relation = plan['Relation Name'];
  if (relation && familyTables.includes(relation) && plan['Node Type'] !== 'ModifyTable') {
    const conditions = [...SCAN_CONDITIONS.map((k) => plan[k]).filter(Boolean), ...joinConds];
    if (!conditions.some((c: string) => /family_id/.test(c))) {
      problems.push(`${plan['Node Type']} on ${relation} without a family_id condition (${conditions.join('; ') || 'none'})`);
    }
  }
  for (const child of plan.Plans ?? []) problems.push(...unconstrainedScans(child, familyTables, [...joinConds, ...own]));
  return problems;
}
