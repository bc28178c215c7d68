import { ConflictResolver, EntityData, EntityState, SyncAction, SyncChange } from '@app/sync-contract';
import { BadgeConflictResolver } from './badge.conflict-resolver';

const ctx = { nowUs: 1_762_000_000_000_000 };
const resolver: ConflictResolver = new BadgeConflictResolver();

const BADGE = { userId: 'u1', code: 'first_task', awardedAt: '2025-11-11T15:00:00.000000Z' };
const states: [string, EntityState | undefined][] = [
  ['an unknown id', undefined],
  ['an existing badge', { version: 1, data: BADGE, fieldClocks: { userId: 1, code: 1, awardedAt: 1 }, deleted: false }],
  ['a deleted badge', { version: 2, data: null, fieldClocks: {}, deleted: true }],
];
const changes: [SyncAction, EntityData | undefined, number | undefined][] = [
  ['create', BADGE, undefined],
  ['create', { ...BADGE, code: 'tasks_100' }, 1],
  ['update', { awardedAt: '2030-01-01T00:00:00Z' }, 1],
  ['update', BADGE, undefined],
  ['delete', undefined, 1],
  ['delete', undefined, undefined],
];

describe('BadgeConflictResolver (rule 6: server only)', () => {
  it('is an unversioned type stored in badges', () => {
    expect(resolver.versioned).toBe(false);
    expect(resolver.table).toBe('badges');
  });

  it.each(
    states.flatMap(([stateName, current]) =>
      changes.map(
        ([action, data, version]) =>
          [`${action} ${JSON.stringify(data ?? null)} v${version ?? '-'} on ${stateName}`, current, action, data, version] as const,
      ),
    ),
  )('%s -> server_wins Immutable (server only)', (_name, current, action, data, version) => {
    const change: SyncChange = { index: 0, entityType: 'badge', entityId: 'u1:first_task', action, data, version, clientUs: ctx.nowUs + 1 };
    expect(resolver.resolve(current, change, ctx)).toEqual({
      kind: 'conflict',
      resolution: 'server_wins',
      reason: 'Immutable (server only)',
    });
  });

  it.each<['create' | 'update', unknown]>([
    ['create', BADGE],
    ['update', { code: 42, unknown: 'x' }],
  ])('validate(%s, %j) passes: the rules refuse the change', (action, data) => {
    expect(resolver.validate(action, data)).toEqual({ ok: true, data: {} });
  });
});
