import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtStrategy } from './jwt.strategy';
import { PublicRoutes } from './public-routes';
import { TokenVerifier } from './token-verifier';

@Module({
  imports: [DiscoveryModule],
  providers: [JwtStrategy, TokenVerifier, PublicRoutes, { provide: APP_GUARD, useClass: JwtAuthGuard }],
  exports: [TokenVerifier, PublicRoutes],
})
export class AuthModule {}
