import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'badges', synchronize: false })
export class BadgeEntity extends SyncedRowEntity {}
