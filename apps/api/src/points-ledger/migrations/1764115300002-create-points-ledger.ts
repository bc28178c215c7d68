import { MigrationInterface, QueryRunner } from 'typeorm';
import { createSyncedTable, dropSyncedTable } from '@app/sync-contract';

export class CreatePointsLedger1764115300002 implements MigrationInterface {
  name = 'CreatePointsLedger1764115300002';

  up = (q: QueryRunner) => createSyncedTable(q, 'points_ledger');
  down = (q: QueryRunner) => dropSyncedTable(q, 'points_ledger');
}
