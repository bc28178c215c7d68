import { Module } from '@nestjs/common';
import { TaskConflictResolver } from './task.conflict-resolver';

@Module({ providers: [TaskConflictResolver] })
export class TaskModule {}
