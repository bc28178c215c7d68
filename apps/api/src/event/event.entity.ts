import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'events', synchronize: false })
export class EventEntity extends SyncedRowEntity {}
