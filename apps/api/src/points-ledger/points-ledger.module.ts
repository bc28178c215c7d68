import { Module } from '@nestjs/common';
import { PointsLedgerConflictResolver } from './points-ledger.conflict-resolver';

@Module({ providers: [PointsLedgerConflictResolver] })
export class PointsLedgerModule {}
