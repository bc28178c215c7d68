import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
import request from 'supertest';
import { startTestApp, TestApp } from './test-app';
import { createFamily, FamilyFixture } from './sync-fixtures';
import { sqlClient } from './db-state';

export type Body = Record<string, unknown>;

let clock = Date.parse('2021-06-01T00:00:00.000Z');
export const ts = () => new Date((clock += 1000)).toISOString();

export async function eventually(assertion: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** The value of one Prometheus sample: `name` with exactly these labels (0 when absent). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[k] = v;
    const wanted = Object.entries(labels);
    if (wanted.length !== Object.keys(found).length || wanted.some(([k, v]) => found[k] !== v)) continue;
    return Number(m[3]);
  }
  return 0;
}

export const metricsText = async (t: TestApp) => (await request(t.server).get('/metrics').expect(200)).text;

/** A raw HTTP exchange (no automatic decompression): status, headers and body bytes. */
export function rawPost(t: TestApp, path: string, headers: Record<string, string>, body: Buffer | string) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = httpRequest(
      `${t.baseUrl}${path}`,
      { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * An operations suite (sync-operations*.e2e-spec.ts): its own app started with `env`, a family
 * of alice and bob and a SQL session of the test, started before the tests and closed after.
 * Call it inside the suite's describe.
 */
export function operationsSuite(env: Record<string, string> = {}) {
  let t: TestApp;
  let f: FamilyFixture;
  let sql: Client;

  beforeAll(async () => {
    t = await startTestApp(env);
    f = await createFamily(t, 'alice');
    await f.addMember('bob');
    sql = await sqlClient(t, 'e2e-operations');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  return { app: () => t, family: () => f, sql: () => sql };
}
