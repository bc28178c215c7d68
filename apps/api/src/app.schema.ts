import { SchemaDefinition } from '@app/database';
import { BadgeEntity } from './badge/badge.entity';
import { ConflictEntity } from './conflict/conflict.entity';
import { CreateConflicts1764115700000 } from './conflict/migrations/1764115700000-create-conflicts';
import { CreateBadges1764115300004 } from './badge/migrations/1764115300004-create-badges';
import { EventEntity } from './event/event.entity';
import { CreateEvents1764115300001 } from './event/migrations/1764115300001-create-events';
import { CreateTaskCompletions1764115500000 } from './gamification/migrations/1764115500000-create-task-completions';
import { UserTotals1764116600000 } from './gamification/migrations/1764116600000-user-totals';
import { FamilyMemberEntity } from './family/family-member.entity';
import { FamilyEntity } from './family/family.entity';
import { CreateFamilies1764115200000 } from './family/migrations/1764115200000-create-families';
import { CreatePointsLedger1764115300002 } from './points-ledger/migrations/1764115300002-create-points-ledger';
import { IndexPointsLedgerByUser1764115600000 } from './points-ledger/migrations/1764115600000-index-points-ledger-by-user';
import { PointsLedgerEntity } from './points-ledger/points-ledger.entity';
import { CreateSyncState1764115400000 } from './sync/migrations/1764115400000-create-sync-state';
import { ReceiptHistory1764115800000 } from './sync/migrations/1764115800000-receipt-history';
import { ReceiptHistoryByKey1764115900000 } from './sync/migrations/1764115900000-receipt-history-by-key';
import { StripProtoKeys1764116000000 } from './sync/migrations/1764116000000-strip-proto-keys';
import { FieldPositions1764116100000 } from './sync/migrations/1764116100000-field-positions';
import { RequestRecords1764116200000 } from './sync/migrations/1764116200000-request-records';
import { ResolutionPolicies1764116300000 } from './sync/migrations/1764116300000-resolution-policies';
import { FieldPositionsFromWriter1764116400000 } from './sync/migrations/1764116400000-field-positions-from-writer';
import { VacuumHotTables1764116500000 } from './sync/migrations/1764116500000-vacuum-hot-tables';
import { CreateTasks1764115300000 } from './task/migrations/1764115300000-create-tasks';
import { TaskEntity } from './task/task.entity';
import { CreateUserStreaks1764115300003 } from './user-streak/migrations/1764115300003-create-user-streaks';
import { UserStreakEntity } from './user-streak/user-streak.entity';

/**
 * Every entity and migration of the service, listed explicitly (globs break once compiled
 * or bundled). Shared by the app and the TypeORM CLI (`ormconfig.ts`).
 */
export const appSchema: SchemaDefinition = {
  entities: [FamilyEntity, FamilyMemberEntity, TaskEntity, EventEntity, PointsLedgerEntity, UserStreakEntity, BadgeEntity, ConflictEntity],
  migrations: [
    CreateFamilies1764115200000,
    CreateTasks1764115300000,
    CreateEvents1764115300001,
    CreatePointsLedger1764115300002,
    CreateUserStreaks1764115300003,
    CreateBadges1764115300004,
    CreateSyncState1764115400000,
    CreateTaskCompletions1764115500000,
    IndexPointsLedgerByUser1764115600000,
    CreateConflicts1764115700000,
    ReceiptHistory1764115800000,
    ReceiptHistoryByKey1764115900000,
    StripProtoKeys1764116000000,
    FieldPositions1764116100000,
    RequestRecords1764116200000,
    ResolutionPolicies1764116300000,
    FieldPositionsFromWriter1764116400000,
    VacuumHotTables1764116500000,
    UserTotals1764116600000,
  ],
};
