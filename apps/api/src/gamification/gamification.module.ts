import { Module } from '@nestjs/common';
import { GamificationHook } from './gamification.hook';

/** Server computations of PROTOCOL 2.3, plugged into the sync transaction as a `@SyncHook()`. */
@Module({ providers: [GamificationHook] })
export class GamificationModule {}
