import { Module } from '@nestjs/common';
import { EventConflictResolver } from './event.conflict-resolver';

@Module({ providers: [EventConflictResolver] })
export class EventModule {}
