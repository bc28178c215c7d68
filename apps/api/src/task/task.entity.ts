import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'tasks', synchronize: false })
export class TaskEntity extends SyncedRowEntity {}
