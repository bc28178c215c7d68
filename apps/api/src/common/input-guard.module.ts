import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { InputGuard } from './input-guard';

/**
 * Registers the input guard globally. Global guards run in the order their modules are
 * scanned: imported after AuthModule, it runs after authentication (no token -> 401 first)
 * and before every route guard (FamilyAccess reads the path's family id from the database).
 */
@Module({ providers: [{ provide: APP_GUARD, useClass: InputGuard }] })
export class InputGuardModule {}
