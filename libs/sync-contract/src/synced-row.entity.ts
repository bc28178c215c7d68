import { Column, PrimaryColumn } from 'typeorm';
import type { EntityData, FieldClocks } from './sync-change';

/**
 * The columns every synced entity table has (each entity module's table extends this).
 * Entities are declared `synchronize: false`: their tables, indexes, foreign keys and checks
 * belong to the hand-written migrations, so `migration:generate` never proposes to drop them.
 * Times are bigint microseconds since the epoch: exact, unlike a JS Date.
 */
export abstract class SyncedRowEntity {
  @PrimaryColumn({ name: 'family_id', type: 'uuid' })
  familyId: string;

  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'int' })
  version: number;

  @Column({ type: 'jsonb', nullable: true })
  data: EntityData | null;

  @Column({ name: 'field_clocks', type: 'jsonb' })
  fieldClocks: FieldClocks;

  /** Clamped client time of the latest write. */
  @Column({ name: 'client_us', type: 'bigint' })
  clientUs: string;

  /** Commit position at creation (decides `create` vs `update` in a pull). */
  @Column({ name: 'created_us', type: 'bigint' })
  createdUs: string;

  /** Commit position of the latest write: strictly increasing per family. */
  @Column({ name: 'changed_us', type: 'bigint' })
  changedUs: string;

  @Column({ name: 'deleted_us', type: 'bigint', nullable: true })
  deletedUs: string | null;
}
