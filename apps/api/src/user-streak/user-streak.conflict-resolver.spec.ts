import { ConflictResolver, EntityData, EntityState, SyncAction, SyncChange } from '@app/sync-contract';
import { UserStreakConflictResolver } from './user-streak.conflict-resolver';

const ctx = { nowUs: 1_762_000_000_000_000 };
const resolver: ConflictResolver = new UserStreakConflictResolver();

const STREAK = { currentStreak: 3, longestStreak: 7 };
const states: [string, EntityState | undefined][] = [
  ['an unknown id', undefined],
  ['an existing streak', { version: 2, data: STREAK, fieldClocks: { currentStreak: 1, longestStreak: 1 }, deleted: false }],
  ['a deleted streak', { version: 3, data: null, fieldClocks: {}, deleted: true }],
];
const changes: [SyncAction, EntityData | undefined, number | undefined][] = [
  ['create', STREAK, undefined],
  ['create', { currentStreak: 100, longestStreak: 100 }, 1],
  ['update', { currentStreak: 100 }, 2],
  ['update', STREAK, undefined],
  ['delete', undefined, 2],
  ['delete', undefined, undefined],
];

describe('UserStreakConflictResolver (rule 6: server calculated)', () => {
  it('is an unversioned type stored in user_streaks', () => {
    expect(resolver.versioned).toBe(false);
    expect(resolver.table).toBe('user_streaks');
  });

  it.each(
    states.flatMap(([stateName, current]) =>
      changes.map(
        ([action, data, version]) =>
          [`${action} ${JSON.stringify(data ?? null)} v${version ?? '-'} on ${stateName}`, current, action, data, version] as const,
      ),
    ),
  )('%s -> server_wins Server calculated', (_name, current, action, data, version) => {
    const change: SyncChange = { index: 0, entityType: 'user_streak', entityId: 'u1', action, data, version, clientUs: ctx.nowUs + 1 };
    expect(resolver.resolve(current, change, ctx)).toEqual({ kind: 'conflict', resolution: 'server_wins', reason: 'Server calculated' });
  });

  it.each<['create' | 'update', unknown]>([
    ['create', STREAK],
    ['update', { currentStreak: -1, unknown: 'x' }],
  ])('validate(%s, %j) passes: the rules refuse the change', (action, data) => {
    expect(resolver.validate(action, data)).toEqual({ ok: true, data: {} });
  });
});
