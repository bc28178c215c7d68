import { Module } from '@nestjs/common';
import { DemoBundle } from './demo-bundle';
import { DemoController } from './demo.controller';
import { DemoFamilyService } from './demo-family.service';

/** The demo web app (apps/demo) and its token endpoint; AppModule registers it only when demoEnabled(config). */
@Module({
  controllers: [DemoController],
  providers: [DemoFamilyService, DemoBundle],
})
export class DemoModule {}
