import { MigrationInterface, QueryRunner } from 'typeorm';
import { createSyncedTable, dropSyncedTable } from '@app/sync-contract';

export class CreateUserStreaks1764115300003 implements MigrationInterface {
  name = 'CreateUserStreaks1764115300003';

  up = (q: QueryRunner) => createSyncedTable(q, 'user_streaks');
  down = (q: QueryRunner) => dropSyncedTable(q, 'user_streaks');
}
