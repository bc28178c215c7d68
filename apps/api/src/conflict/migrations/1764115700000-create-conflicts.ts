import { MigrationInterface, QueryRunner } from 'typeorm';
import { createSyncedTable, dropSyncedTable } from '@app/sync-contract';

export class CreateConflicts1764115700000 implements MigrationInterface {
  name = 'CreateConflicts1764115700000';

  up = (q: QueryRunner) => createSyncedTable(q, 'conflicts');
  down = (q: QueryRunner) => dropSyncedTable(q, 'conflicts');
}
