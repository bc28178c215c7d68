import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { parse } from 'yaml';
import { databaseUrl, E2E_ADMIN_URL, E2E_TEMPLATE_DB, mintToken, TEST_JWT_SECRET, withClient } from '@app/testing';
import type { DeltaResponseDto } from '../../apps/api/src/sync/dto/delta-response.dto';
import { buildService, runBuilt, ServiceProcess, startBuiltService } from './built-service';
import { DEPLOY_DIR } from './deploy-files';

/**
 * Helpers of the several-instances suites (several-instances*.long-spec.ts): the compiled
 * service on a database of the suite, the migration Job's command, a round-robin front and the
 * load devices that go through it.
 */

/**
 * A several-instances suite: an empty database of its own (not the migrated template) and the
 * service compiled once, before the tests; after them, the instances in `instances` are killed,
 * the database dropped and the build removed. With `migrated`, the migration Job's command
 * migrates the database before the tests. Call it inside the suite's describe.
 */
export function severalInstancesSuite(name: string, { migrated = false } = {}) {
  const run = randomBytes(4).toString('hex');
  const instances: ServiceProcess[] = [];
  let build: Awaited<ReturnType<typeof buildService>>;
  let dbName: string;
  let dbUrl: string;
  let adminUrl: string;

  beforeAll(async () => {
    adminUrl = process.env[E2E_ADMIN_URL]!;
    dbName = `${process.env[E2E_TEMPLATE_DB]!.replace(/_tmpl$/, '')}_${name}_${run}`;
    dbUrl = databaseUrl(adminUrl, dbName);
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${dbName}"`));
    build = await buildService();
    if (migrated) await runMigrationJob(build.outDir, dbUrl);
  });
  afterAll(async () => {
    for (const i of instances) i.child.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)).catch(() => undefined);
    build?.remove();
  });

  return {
    run,
    instances,
    outDir: () => build.outDir,
    dbUrl: () => dbUrl,
    /** Starts the compiled service as instance `name` on the suite's database, not migrating it. */
    start: (name: string, env: Record<string, string>) =>
      startBuiltService(build.outDir, name, {
        NODE_ENV: 'production',
        DATABASE_URL: dbUrl,
        DB_MIGRATIONS_RUN: 'false',
        JWT_SECRET: TEST_JWT_SECRET,
        DATA_DIR: mkdtempSync(join(tmpdir(), `delta-sync-${name}-`)),
        ...env,
      }),
  };
}

/** The migration Job's command (deploy/k8s/migration-job.yaml): its program and its entry in the build. */
export function migrationJobCommand(): { node: string; builtEntry: string } {
  const jobDoc = parse(readFileSync(join(DEPLOY_DIR, 'k8s', 'migration-job.yaml'), 'utf8'));
  const [node, entry] = jobDoc.spec.template.spec.containers[0].command as string[];
  return { node, builtEntry: entry.replace(/^dist\/apps\/api\//, '') };
}

/** Runs the migration Job's command of the build on a database, with the Job's environment. */
export function runMigrationJob(outDir: string, dbUrl: string, args: string[] = []) {
  const env = { NODE_ENV: 'production', DATABASE_URL: dbUrl, JWT_SECRET: TEST_JWT_SECRET, DB_MIGRATIONS_RUN: 'false' };
  return runBuilt(outDir, migrationJobCommand().builtEntry, env, args);
}

type Body = DeltaResponseDto;
export interface Row {
  version: number;
  data: Record<string, unknown>;
}
const DEFAULTS: Record<string, Record<string, unknown>> = {
  task: { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null },
  event: { description: null, end: null, attendees: [] },
};

/** Round robin over the instances; a request that fails to reach one is resent to the next. */
export class Front {
  private next = 0;
  readonly served = new Map<string, { before: number; after: number }>();
  readonly failedAttempts: Record<string, number> = {};
  killedAt = 0;

  constructor(private readonly instances: ServiceProcess[]) {
    for (const i of instances) this.served.set(i.name, { before: 0, after: 0 });
  }

  async sync(token: string, body: Record<string, unknown>): Promise<{ status: number; body: Body; via: string }> {
    for (let attempt = 0; attempt < 12; attempt++) {
      const target = this.instances[this.next++ % this.instances.length];
      let res: Response;
      try {
        res = await fetch(`${target.baseUrl}/sync/delta`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
        this.failedAttempts[cause] = (this.failedAttempts[cause] ?? 0) + 1;
        continue;
      }
      if (res.status === 503) {
        this.failedAttempts['503'] = (this.failedAttempts['503'] ?? 0) + 1;
        await res.arrayBuffer();
        continue;
      }
      const counts = this.served.get(target.name)!;
      if (this.killedAt && Date.now() > this.killedAt) counts.after++;
      else counts.before++;
      return { status: res.status, body: (await res.json()) as Body, via: target.name };
    }
    throw new Error('no instance answered after 12 attempts');
  }
}

/** A load device: a replica of its family, the writes it was told were stored, its watermark. */
export class Device {
  readonly replica = new Map<string, Row>();
  watermark: string | null = null;
  private n = 0;
  readonly acked: { key: string; version: number }[] = [];

  constructor(
    readonly id: string,
    readonly token: string,
  ) {}

  /** One to three offline edits: new tasks and events, updates of what the device knows. */
  edits(): Record<string, unknown>[] {
    const changes: Record<string, unknown>[] = [];
    const now = new Date().toISOString();
    for (let i = 1 + Math.floor(Math.random() * 3); i > 0; i--) {
      const known = [...this.replica.keys()];
      const change_id = `${this.id}:${this.n}`;
      if (known.length < 3 || Math.random() < 0.4) {
        const type = Math.random() < 0.75 ? 'task' : 'event';
        const entity_id = `${this.id}-${this.n++}`;
        const data =
          type === 'task' ? { title: `T ${entity_id}`, points: Math.floor(Math.random() * 20) } : { title: `E ${entity_id}`, start: now };
        changes.push({ entity_type: type, entity_id, action: 'create', version: 0, data, client_timestamp: now, change_id });
      } else {
        const key = known[Math.floor(Math.random() * known.length)];
        const [type, entity_id] = splitKey(key);
        if (type !== 'task' && type !== 'event') continue;
        this.n++;
        const done = type === 'task' && Math.random() < 0.2;
        const data = done ? { status: 'done', completedAt: now } : { title: `${type} ${entity_id} by ${this.id} #${this.n}` };
        const c: Record<string, unknown> = { entity_type: type, entity_id, action: 'update', data, client_timestamp: now, change_id };
        if (type === 'task') c.version = this.replica.get(key)!.version;
        changes.push(c);
      }
    }
    return changes;
  }

  /** Applies a 200 answer: own changes as patches, then `applied`, `conflicts`, `server_changes` (PROTOCOL 2). */
  take(sent: Record<string, unknown>[], body: Body): void {
    const appliedKeys = new Set(body.applied.map((a) => `${a.entity_type}:${a.entity_id}`));
    for (const c of sent) {
      const key = `${c.entity_type}:${c.entity_id}`;
      if (!appliedKeys.has(key)) continue;
      const base = this.replica.get(key)?.data ?? DEFAULTS[c.entity_type as string];
      this.replica.set(key, { version: this.replica.get(key)?.version ?? 0, data: { ...base, ...(c.data as object) } });
    }
    for (const a of body.applied) {
      const key = `${a.entity_type}:${a.entity_id}`;
      const row = this.replica.get(key)!;
      this.replica.set(key, { version: a.version, data: (a as { data?: Record<string, unknown> }).data ?? row.data });
      this.acked.push({ key, version: a.version });
    }
    for (const c of body.conflicts) {
      const key = `${c.entity_type}:${c.entity_id}`;
      if (c.server_data === null) this.replica.delete(key);
      else this.replica.set(key, { version: c.server_version!, data: c.server_data as Record<string, unknown> });
    }
    for (const s of body.server_changes) {
      const key = `${s.entity_type}:${s.entity_id}`;
      if (s.action === 'delete') this.replica.delete(key);
      else this.replica.set(key, { version: s.version, data: s.data as Record<string, unknown> });
    }
    this.watermark = body.last_sync_at;
  }
}

const splitKey = (key: string) => {
  const at = key.indexOf(':');
  return [key.slice(0, at), key.slice(at + 1)];
};
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitForLockWaiter(client: Client): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if (rows[0].n > 0) return;
    await sleep(20);
  }
  throw new Error('the sync never waited for the family lock');
}

export async function createFamilyVia(instance: ServiceProcess, owner: string): Promise<string> {
  const res = await fetch(`${instance.baseUrl}/families`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${mintToken({ sub: owner })}` },
    body: JSON.stringify({ name: `Family of ${owner}` }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

export async function addMemberVia(instance: ServiceProcess, familyId: string, owner: string, userId: string): Promise<void> {
  const res = await fetch(`${instance.baseUrl}/families/${familyId}/members`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${mintToken({ sub: owner, familyId })}` },
    body: JSON.stringify({ userId, role: 'member' }),
  });
  expect(res.status).toBe(201);
}
