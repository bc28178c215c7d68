import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/**
 * The OpenAPI description of the service, built from the controllers' decorators: served at
 * `/docs-json` and written by `npm run openapi` (client generators, gateways, linters).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Delta Sync')
      .setDescription('Offline-first delta sync: families, POST /sync/delta, health and metrics.')
      .setVersion('1')
      .setLicense('Proprietary', 'https://example.com/delta-sync/license')
      .addServer('/', 'This server')
      .addBearerAuth()
      .addSecurityRequirements('bearer')
      .build(),
  );
}
