import { Module } from '@nestjs/common';
import { UserStreakConflictResolver } from './user-streak.conflict-resolver';

@Module({ providers: [UserStreakConflictResolver] })
export class UserStreakModule {}
