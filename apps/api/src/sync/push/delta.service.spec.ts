import type { ConfigService } from '@nestjs/config';
import type { AppConfig } from '@app/config';
import type { ConflictResolver } from '@app/sync-contract';
import { t } from '@app/testing/resolver-fixtures';
import { FamilyException } from '../../family/family.exception';
import { TaskConflictResolver } from '../../task/task.conflict-resolver';
import type { SyncObserver } from '../metrics/sync-observer';
import type { PullResult, PushedBatch } from '../pull/sync-pull.service';
import type { SyncRegistry } from '../sync-registry.service';
import type { FamilyClock, Loaded, LoadPlan } from './batch/batch.types';
import type { GroupWrites } from './batch/group-evaluator';
import type { SyncRequestContext } from './batch/prepare-request';
import { DeltaService } from './delta.service';
import { PushUnit, PushUnits } from './push-unit';

/**
 * The orchestrator against a fake of its port (no database): which steps run in which order,
 * who is refused, how a failure is shared or isolated. The PostgreSQL implementation is
 * tested end to end (test/sync-*.e2e-spec.ts).
 */
const FAMILY = '00000000-0000-4000-8000-000000000001';
const clock: FamilyClock = { lastUs: t(900), horizonUs: 0, nowUs: t(1000) };
const task: ConflictResolver = new TaskConflictResolver();

class FakeUnits extends PushUnits {
  readonly steps: string[] = [];
  members = new Set(['alice', 'bob']);
  /** Throws from `write` for requests whose device is listed. */
  failWrite = new Map<string, unknown>();
  written: GroupWrites[] = [];
  /** The first lock waits for this: requests sent meanwhile join that unit's group. */
  private gate?: Promise<void>;
  private open = () => undefined as void;

  holdFirstLock(): void {
    this.gate = new Promise<void>((resolve) => (this.open = resolve));
  }

  releaseLock(): void {
    this.open();
  }

  push<T>(work: (unit: PushUnit) => Promise<T>): Promise<T> {
    this.steps.push('begin');
    return work(this.unit()).then(
      (value) => (this.steps.push('commit'), value),
      (error: unknown) => {
        this.steps.push('rollback');
        throw error;
      },
    );
  }

  async pull(req: SyncRequestContext): Promise<PullResult | undefined> {
    this.steps.push(`pull ${req.deviceId}`);
    return this.members.has(req.scope.userId) ? page([{ req, batch: { outcomes: [], notEchoed: new Map() } }])[0] : undefined;
  }

  isDatabaseFault(error: unknown): boolean {
    return (error as { code?: string }).code === '08006';
  }

  async settle(): Promise<void> {}

  async touchDevice(req: SyncRequestContext): Promise<void> {
    this.steps.push(`touch ${req.deviceId}`);
  }

  private unit(): PushUnit {
    return {
      lock: async (_familyId: string, userIds: string[]) => {
        this.steps.push(`lock ${userIds.join(',')}`);
        const gate = this.gate;
        this.gate = undefined;
        await gate;
        return userIds.some((u) => this.members.has(u)) ? clock : undefined;
      },
      load: async (_familyId: string, plan: LoadPlan, userIds: string[]): Promise<Loaded & { members: Set<string> }> => {
        this.steps.push(`load ${plan.entities.flatMap((e) => e.ids).join(',')}`);
        return { receipts: new Map(), rows: new Map(), members: new Set(userIds.filter((u) => this.members.has(u))) };
      },
      write: async (_familyId: string, writes: GroupWrites) => {
        this.steps.push(`write ${writes.receipts.map((r) => r.entityId).join(',')}`);
        for (const r of writes.receipts) if (this.failWrite.has(r.deviceId)) throw this.failWrite.get(r.deviceId);
        this.written.push(writes);
      },
      compute: async (req: SyncRequestContext, _clock: FamilyClock, batch: { positionUs: number }) => {
        this.steps.push(`compute ${req.deviceId}`);
        return batch.positionUs;
      },
      pullAndCommit: async (pulls: { req: SyncRequestContext; batch: PushedBatch }[]) => {
        this.steps.push(`pull+commit ${pulls.map((p) => p.req.deviceId).join(',')}`);
        return page(pulls);
      },
    };
  }
}

const page = (pulls: { req: SyncRequestContext; batch: PushedBatch }[]): PullResult[] =>
  pulls.map(({ batch }) => ({
    response: {
      server_changes: [],
      conflicts: [],
      errors: [],
      applied: batch.outcomes.flatMap((o) => (o.applied ? [o.applied] : [])),
      last_sync_at: '2025-11-11T00:00:00.000000Z',
      has_more: false,
      resync_required: false,
      success: true,
      applied_count: 0,
      error_count: 0,
      request_id: null,
    },
  }));

function service(units: FakeUnits): DeltaService {
  const config = {
    get: () => ({ maxBatch: 500, maxClockSkewMs: 300_000, maxRejectedBytes: 16_384 }),
  } as unknown as ConfigService<AppConfig, true>;
  const observer = { record: () => undefined, group: () => undefined, inFlight: () => undefined } as unknown as SyncObserver;
  const registry = { find: (type: string) => (type === 'task' ? task : undefined), typeOf: () => 'task' } as unknown as SyncRegistry;
  return new DeltaService(units, observer, registry, config);
}

const create = (id: string) => ({
  entity_type: 'task',
  entity_id: id,
  action: 'create' as const,
  data: { title: id },
  client_timestamp: '2025-11-11T12:00:00Z',
});

describe('DeltaService (orchestrator, fake port)', () => {
  it('a push runs lock, load, write, the computations and the pull with COMMIT, in that order, in one unit', async () => {
    const units = new FakeUnits();
    const body = await service(units).sync({ familyId: FAMILY, userId: 'alice' }, { device_id: 'phone', changes: [create('a')] });
    expect(units.steps).toEqual(['begin', 'lock alice', 'load a', 'write a', 'compute phone', 'pull+commit phone', 'commit']);
    expect(body.applied).toEqual([{ entity_type: 'task', entity_id: 'a', version: 1 }]);
    expect(units.written[0].devices).toEqual([{ deviceId: 'phone', userId: 'alice', visits: 1, lastSyncUs: null, lanes: null }]);
  });

  it('a push of a non-member is refused after the lock read, with nothing loaded or written', async () => {
    const units = new FakeUnits();
    await expect(
      service(units).sync({ familyId: FAMILY, userId: 'mallory' }, { device_id: 'phone', changes: [create('a')] }),
    ).rejects.toBeInstanceOf(FamilyException);
    expect(units.steps).toEqual(['begin', 'lock mallory', 'commit']);
  });

  it('a pull without changes takes no lock and records the visit beside it; a non-member is refused', async () => {
    const units = new FakeUnits();
    const delta = service(units);
    await delta.sync({ familyId: FAMILY, userId: 'bob' }, { device_id: 'tablet' });
    expect(units.steps).toEqual(['pull tablet', 'touch tablet']);
    await expect(delta.sync({ familyId: FAMILY, userId: 'mallory' }, { device_id: 'x' })).rejects.toBeInstanceOf(FamilyException);
  });

  /** Three pushes in one group: the first holds the lock while the other two arrive. */
  async function groupOfThree(units: FakeUnits, devices: [string, string, string]) {
    const delta = service(units);
    units.holdFirstLock();
    const answers = devices.map((device, i) =>
      delta
        .sync({ familyId: FAMILY, userId: i % 2 ? 'bob' : 'alice' }, { device_id: device, changes: [create(device)] })
        .then((b) => b.applied.map((a) => a.entity_id))
        .catch((e: unknown) => e),
    );
    await new Promise((resolve) => setImmediate(resolve));
    units.releaseLock();
    return Promise.all(answers);
  }

  it('pushes of one family arriving while the first waits for the lock share its unit (group commit), each with its own answer', async () => {
    const units = new FakeUnits();
    expect(await groupOfThree(units, ['phone', 'tablet', 'watch'])).toEqual([['phone'], ['tablet'], ['watch']]);
    expect(units.steps).toEqual([
      'begin',
      'lock alice',
      'load phone,tablet,watch',
      'write phone,tablet,watch',
      'compute phone',
      'compute tablet',
      'compute watch',
      'pull+commit phone,tablet,watch',
      'commit',
    ]);
  });

  it('a group that fails with a request-specific error runs each request alone: only that one fails', async () => {
    const units = new FakeUnits();
    const poison = new Error('a bug met by one request');
    units.failWrite.set('bad', poison);
    expect(await groupOfThree(units, ['warm', 'good', 'bad'])).toEqual([['warm'], ['good'], poison]);
    expect(units.steps.filter((s) => s.startsWith('write'))).toEqual(['write warm,good,bad', 'write warm', 'write good', 'write bad']);
  });

  it('a database fault in a group is every request’s answer (nothing is re-run)', async () => {
    const units = new FakeUnits();
    const lost = Object.assign(new Error('connection lost'), { code: '08006' });
    units.failWrite.set('two', lost);
    expect(await groupOfThree(units, ['one', 'two', 'three'])).toEqual([lost, lost, lost]);
    expect(units.steps.filter((s) => s.startsWith('write'))).toEqual(['write one,two,three']);
    expect(units.steps.filter((s) => s === 'rollback')).toHaveLength(1);
  });
});
