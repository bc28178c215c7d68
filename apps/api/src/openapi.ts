import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from '@app/config';
import { documentSyncLimits } from './sync/dto/delta-request.dto';

/**
 * The OpenAPI description of the service, built from the controllers' decorators: served at
 * `/docs-json` and written by `npm run openapi` (client generators, gateways, linters).
 */
export function buildOpenApiDocument(app: INestApplication, config: AppConfig): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Delta Sync')
      .setDescription('Offline-first delta sync: families, POST /sync/delta, health and metrics.')
      .setVersion('1')
      .addServer('/', 'This server')
      .addBearerAuth()
      .addSecurityRequirements('bearer')
      .build(),
  );
  // Proprietary (package.json: UNLICENSED): a name, no license URL to point to.
  document.info.license = { name: 'Proprietary' };
  // Limits come from configuration, not from constants in the decorators.
  documentSyncLimits(document, config.sync);
  return document;
}
