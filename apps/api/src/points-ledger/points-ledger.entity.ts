import { Entity } from 'typeorm';
import { SyncedRowEntity } from '@app/sync-contract';

@Entity({ name: 'points_ledger', synchronize: false })
export class PointsLedgerEntity extends SyncedRowEntity {}
