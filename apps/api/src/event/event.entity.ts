import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'events' })
export class EventEntity extends SyncedRowEntity {}
