import { MigrationInterface, QueryRunner } from 'typeorm';
import { createSyncedTable, dropSyncedTable } from '@app/sync-contract';

export class CreateEvents1764115300001 implements MigrationInterface {
  name = 'CreateEvents1764115300001';

  up = (q: QueryRunner) => createSyncedTable(q, 'events');
  down = (q: QueryRunner) => dropSyncedTable(q, 'events');
}
