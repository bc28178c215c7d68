import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtStrategy } from './jwt.strategy';
import { RouteTable } from './route-table';
import { TokenVerifier } from './token-verifier';

@Module({
  imports: [DiscoveryModule],
  providers: [JwtStrategy, TokenVerifier, RouteTable, { provide: APP_GUARD, useClass: JwtAuthGuard }],
  exports: [TokenVerifier, RouteTable],
})
export class AuthModule {}
