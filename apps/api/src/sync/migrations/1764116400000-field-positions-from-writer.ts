import { MigrationInterface, QueryRunner } from 'typeorm';
import { fieldPositionsFromTrigger, fieldPositionsFromWriter } from '@app/sync-contract';

const TABLES = ['tasks', 'events', 'points_ledger', 'user_streaks', 'badges', 'conflicts'] as const;

/**
 * PROTOCOL 2.10, issue 32: the push computes `field_positions` itself; the trigger runs only
 * for rows whose writer left them alone (server computations, maintenance, hand-made SQL).
 */
export class FieldPositionsFromWriter1764116400000 implements MigrationInterface {
  name = 'FieldPositionsFromWriter1764116400000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of TABLES) await fieldPositionsFromWriter(q, table);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of TABLES) await fieldPositionsFromTrigger(q, table);
  }
}
