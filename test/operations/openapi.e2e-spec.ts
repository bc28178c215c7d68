import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { startTestApp, TestApp } from '../support/test-app';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

/**
 * The OpenAPI description (issue 18): written by `npm run openapi` without a database, the
 * same document `/docs-json` serves, clean under Redocly's recommended rules, and usable by a
 * client generator whose types type-check a real request and response.
 */
describe('OpenAPI description', () => {
  jest.setTimeout(120_000);
  let t: TestApp;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delta-openapi-'));
    file = join(dir, 'openapi.json');
    // No database anywhere in the environment: the script must not need one.
    const env = { ...process.env, DATABASE_URL: '', TEST_DATABASE_URL: '' };
    await run('npm', ['run', '-s', 'openapi', '--', file], { cwd: ROOT, env });
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm run openapi writes the document /docs-json serves', async () => {
    const written = JSON.parse(readFileSync(file, 'utf8'));
    const served = (await request(t.server).get('/docs-json').expect(200)).body;
    expect(written).toEqual(served);
    expect(Object.keys(written.paths)).toEqual(
      expect.arrayContaining([
        '/sync/delta',
        '/sync/stream',
        '/sync/devices/{deviceId}/history',
        '/families/{id}/members/{userId}',
        '/metrics',
      ]),
    );
    expect(written.paths['/sync/delta'].post.requestBody.content['application/json'].schema).toBeDefined();
    expect(written.components.schemas.DeltaRequestDto.properties.changes.maxItems).toBe(t.config.sync.maxBatch);
  });

  it('passes Redocly recommended rules with 0 errors and 0 warnings (apps/api/redocly.yaml says why one rule is off)', async () => {
    const { stdout } = await run(
      bin('redocly'),
      ['lint', file, '--config', join(ROOT, 'apps', 'api', 'redocly.yaml'), '--format', 'json'],
      {
        cwd: ROOT,
      },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: { message: string }[];
    };
    expect({ totals: report.totals, problems: report.problems.map((p) => p.message) }).toEqual({
      totals: expect.objectContaining({ errors: 0, warnings: 0 }),
      problems: [],
    });
  });

  it('the 400 documented for the public operations is real', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics']) {
      const res = await request(t.server).get(`${path}?probe=%00`).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: expect.any(String), requestId: expect.any(String) });
    }
  });

  it('openapi-typescript types type-check a /sync/delta request and response, and reject a wrong one', async () => {
    const types = join(dir, 'api.d.ts');
    await run(bin('openapi-typescript'), [file, '-o', types], { cwd: ROOT });
    const program = (lastSyncAt: string) => `
      import type { paths } from './api';
      type Delta = paths['/sync/delta']['post'];
      type Req = NonNullable<Delta['requestBody']>['content']['application/json'];
      type Res = Delta['responses'][200]['content']['application/json'];
      type ErrorBody = Delta['responses'][409 extends keyof Delta['responses'] ? 409 : 503]['content']['application/json'];
      export const body: Req = {
        device_id: 'phone-1',
        last_sync_at: ${lastSyncAt},
        changes: [{ entity_type: 'task', entity_id: 't1', action: 'update', version: 3, data: { title: 'x' }, client_timestamp: '2025-11-11T10:00:00Z' }],
      };
      export function read(res: Res, failure: ErrorBody): string[] {
        const watermark: string = res.last_sync_at;
        const more: boolean = res.has_more;
        const retry: string = failure.requestId;
        return [watermark, String(more), retry, ...res.conflicts.map((c) => c.resolution), ...res.server_changes.map((c) => c.entity_id)];
      }
    `;
    const tsc = (source: string) => {
      writeFileSync(join(dir, 'client.ts'), source);
      return run(
        bin('tsc'),
        ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', join(dir, 'client.ts')],
        { cwd: dir },
      )
        .then(() => '')
        .catch((error: { stdout?: string }) => error.stdout ?? 'failed');
    };
    expect(await tsc(program("'2025-11-11T15:00:00.123456Z'"))).toBe('');
    expect(await tsc(program('null'))).toBe('');
    // The types say what the server accepts: a number is not a watermark.
    expect(await tsc(program('42'))).toMatch(/last_sync_at|not assignable/);
  });
});
