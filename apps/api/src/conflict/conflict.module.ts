import { Module } from '@nestjs/common';
import { ConflictConflictResolver } from './conflict.conflict-resolver';

/** The conflict inbox (PROTOCOL 2.8): its entity type and resolver. */
@Module({ providers: [ConflictConflictResolver] })
export class ConflictModule {}
