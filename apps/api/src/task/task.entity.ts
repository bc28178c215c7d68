import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'tasks' })
export class TaskEntity extends SyncedRowEntity {}
