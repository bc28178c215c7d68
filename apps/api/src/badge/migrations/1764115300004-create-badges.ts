import { MigrationInterface, QueryRunner } from 'typeorm';
import { createSyncedTable, dropSyncedTable } from '@app/sync-contract';

export class CreateBadges1764115300004 implements MigrationInterface {
  name = 'CreateBadges1764115300004';

  up = (q: QueryRunner) => createSyncedTable(q, 'badges');
  down = (q: QueryRunner) => dropSyncedTable(q, 'badges');
}
