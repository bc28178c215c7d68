import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'badges' })
export class BadgeEntity extends SyncedRowEntity {}
