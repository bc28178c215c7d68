import type { PreparedSql } from '@app/database';
import { lanePullStatement, pullStatement } from '../pull/pull-statements';
import { loadSql, LOCK_FAMILY, writeSql } from '../push/sync.repository';

/** The service's entity tables, in the registry's order, as the snapshots show them. */
const TABLES = [
  { entityType: 'task', table: 'tasks', lane: 0 },
  { entityType: 'event', table: 'events', lane: 0 },
  { entityType: 'points_ledger', table: 'points_ledger', lane: 2 },
  { entityType: 'user_streak', table: 'user_streaks', lane: 1 },
  { entityType: 'badge', table: 'badges', lane: 1 },
  { entityType: 'conflict', table: 'conflicts', lane: 1 },
] as const;
const PAGE_BYTES = 4 * 1024 * 1024;

const prepared = (sql: PreparedSql) => `-- PREPARE ${sql.name}(${sql.types.join(', ')})\n${sql.text}`;

/**
 * The hot statements of a push and a pull, as committed `.sql` snapshots beside this file:
 * a change to one shows up in review as an SQL diff (`npm run sql:snapshots` writes them; the
 * spec fails while they differ from what the code builds). Load and write are shown for a
 * push touching tasks and events; the pull reads every table.
 */
export function syncSqlSnapshots(): Record<string, string> {
  const touched = ['tasks', 'events'];
  return {
    'lock-family.sql': prepared(LOCK_FAMILY),
    'load.sql': `-- a push touching ${touched.join(' and ')}\n${loadSql(touched)}`,
    'write.sql': `-- a push writing ${touched.join(' and ')}\n${writeSql(touched)}`,
    'pull-since.sql': prepared(pullStatement(TABLES, 'since', PAGE_BYTES)),
    'pull-state.sql': prepared(pullStatement(TABLES, 'state', PAGE_BYTES)),
    'pull-since-patches.sql': prepared(pullStatement(TABLES, 'since', PAGE_BYTES, true)),
    'pull-lanes-since.sql': prepared(lanePullStatement(TABLES, 'since', PAGE_BYTES)),
    'pull-lanes-since-patches.sql': prepared(lanePullStatement(TABLES, 'since', PAGE_BYTES, true)),
    'pull-lanes-state.sql': prepared(lanePullStatement(TABLES, 'state', PAGE_BYTES)),
  };
}

/** One statement per line group: trailing spaces dropped, one final newline. */
export function snapshotText(sql: string): string {
  return `${sql
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .join('\n')}\n`;
}
