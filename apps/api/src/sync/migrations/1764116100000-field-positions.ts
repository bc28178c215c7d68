import { MigrationInterface, QueryRunner } from 'typeorm';
import { addFieldPositions, dropFieldPositions } from '@app/sync-contract';

const TABLES = ['tasks', 'events', 'points_ledger', 'user_streaks', 'badges', 'conflicts'] as const;

/**
 * PROTOCOL 2.10: per entity and field, the position of the write that last wrote it, kept by
 * a trigger in the writing statement itself (every writer: pushes, server computations,
 * purges). Rows written before have none (NULL): they are pulled whole until written again.
 */
export class FieldPositions1764116100000 implements MigrationInterface {
  name = 'FieldPositions1764116100000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of TABLES) await addFieldPositions(q, table);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of TABLES) await dropFieldPositions(q, table);
  }
}
