/**
 * Writes the OpenAPI description without a database: `npm run openapi [-- <file>]`
 * (default dist/openapi.json). The app is built in Nest's preview mode: modules and
 * controllers are scanned, no provider is instantiated, so nothing connects anywhere.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@app/config';
import { AppModule } from '../app.module';
import { buildOpenApiDocument } from '../openapi';

async function main(): Promise<void> {
  const target = resolve(process.argv[2] ?? 'dist/openapi.json');
  // A throwaway secret: preview mode instantiates nothing that would use it.
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET: 'x'.repeat(32),
    DATABASE_URL: 'postgres://openapi@127.0.0.1/none',
  });
  const app = await NestFactory.create(AppModule.forRoot(config), { preview: true, logger: false, abortOnError: false });
  const document = buildOpenApiDocument(app, config);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
  process.stdout.write(`OpenAPI description written to ${target}\n`);
}

void main();
