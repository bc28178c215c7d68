import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { FamilyModule } from '../family/family.module';
import { PgListener } from './pg-listener';
import { RealtimeMetrics } from './realtime.metrics';
import { RealtimeRepository } from './realtime.repository';
import { StreamHub } from './stream-hub';
import { SyncSocketGateway } from './sync-socket.gateway';
import { SyncStreamController } from './sync-stream.controller';

/**
 * Realtime pokes (PROTOCOL 2.7): WebSocket `/sync/ws` and SSE `/sync/stream`. Commits reach
 * every instance through PostgreSQL NOTIFY (the sync and family modules only announce).
 */
@Module({
  imports: [AuthModule, FamilyModule],
  controllers: [SyncStreamController],
  providers: [StreamHub, PgListener, RealtimeRepository, RealtimeMetrics, SyncSocketGateway],
})
export class RealtimeModule {}
