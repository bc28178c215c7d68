import { MigrationInterface, QueryRunner } from 'typeorm';

/** Entity tables: every push updates rows whose pull index key (changed_us) moves, so no update is HOT. */
const ENTITY_TABLES = ['tasks', 'events', 'points_ledger', 'user_streaks', 'badges', 'conflicts'] as const;
/** One row per family or device, rewritten by every push or sync: their updates can be HOT. */
const COUNTER_TABLES = ['family_sync_state', 'sync_devices', 'sync_resolution_decisions'] as const;

/**
 * Issue 32: the 10-minute soak showed 42,000 dead task tuples before the first autovacuum
 * (the default waits for 20% of the table to be dead). Entity tables are vacuumed after 2%
 * (plus 1,000 rows); the counter tables, whose columns that change are in no index, keep a
 * third of each page free so an update can stay on its page (HOT: no index entry, pruned
 * without a vacuum) and are vacuumed after 1,000 dead rows whatever their size.
 */
export class VacuumHotTables1764116500000 implements MigrationInterface {
  name = 'VacuumHotTables1764116500000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ENTITY_TABLES)
      await q.query(`ALTER TABLE ${table} SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000)`);
    for (const table of COUNTER_TABLES)
      await q.query(`ALTER TABLE ${table} SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ENTITY_TABLES)
      await q.query(`ALTER TABLE ${table} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)`);
    for (const table of COUNTER_TABLES)
      await q.query(`ALTER TABLE ${table} RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)`);
  }
}
