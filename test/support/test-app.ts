import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { AppConfig, loadConfig } from '@app/config';
import { createTestDatabase, TEST_JWT_SECRET, TestDatabase } from '@app/testing';
import { AppModule } from '../../apps/api/src/app.module';
import { configureApp } from '../../apps/api/src/app.setup';

export interface TestApp {
  app: NestExpressApplication;
  /** The Node HTTP server, listening on a free port, for supertest. */
  server: ReturnType<NestExpressApplication['getHttpServer']>;
  /** `http://127.0.0.1:<port>`, for fetch and parallel clients. */
  baseUrl: string;
  config: AppConfig;
  db: TestDatabase;
  close(): Promise<void>;
}

/**
 * Boots the real AppModule with the production HTTP pipeline on a fresh copy of the
 * migrated template database. `env` overrides the environment the config is read from.
 */
export async function startTestApp(env: Record<string, string | undefined> = {}, shared?: { db: TestDatabase }): Promise<TestApp> {
  // `shared`: a second instance on the database of another (realtime across instances); it does not drop it.
  const db = shared?.db ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.url,
    DB_MIGRATIONS_RUN: 'false',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'delta-sync-e2e-')),
    JWT_SECRET: TEST_JWT_SECRET,
    ...env,
  });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, bufferLogs: true });
  configureApp(app, config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  return {
    app,
    server: app.getHttpServer(),
    baseUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    config,
    db,
    close: async () => {
      await app.close();
      if (!shared) await db.drop();
    },
  };
}
