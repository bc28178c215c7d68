import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'user_streaks', synchronize: false })
export class UserStreakEntity extends SyncedRowEntity {}
