import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'conflicts', synchronize: false })
export class ConflictEntity extends SyncedRowEntity {}
