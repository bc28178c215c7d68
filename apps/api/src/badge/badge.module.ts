import { Module } from '@nestjs/common';
import { BadgeConflictResolver } from './badge.conflict-resolver';

@Module({ providers: [BadgeConflictResolver] })
export class BadgeModule {}
