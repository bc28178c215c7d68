import { MigrationInterface, QueryRunner } from 'typeorm';
import { createSyncedTable, dropSyncedTable } from '@app/sync-contract';

export class CreateTasks1764115300000 implements MigrationInterface {
  name = 'CreateTasks1764115300000';

  up = (q: QueryRunner) => createSyncedTable(q, 'tasks');
  down = (q: QueryRunner) => dropSyncedTable(q, 'tasks');
}
