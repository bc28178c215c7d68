import { ConflictResolver, EntityData, EntityState, SyncAction, SyncChange } from '@app/sync-contract';
import { ConflictConflictResolver } from './conflict.conflict-resolver';

const ctx = { nowUs: 1_762_000_000_000_000 };
const resolver: ConflictResolver = new ConflictConflictResolver();
const ENTRY = { entityType: 'task', entityId: 't1', resolution: 'server_wins', rejected: { title: 'mine' }, server: { title: 'theirs' } };
const live: EntityState = { version: 1, data: ENTRY, fieldClocks: { entityType: 1 }, deleted: false };
const dismissed: EntityState = { version: 2, data: null, fieldClocks: { entityType: 1 }, deleted: true };

const change = (action: SyncAction, data?: EntityData): SyncChange => ({
  index: 0,
  entityType: 'conflict',
  entityId: 'c1',
  action,
  data,
  patch: data,
  clientUs: ctx.nowUs,
});

describe('ConflictConflictResolver (PROTOCOL 2.8: server-written, dismissed by a delete)', () => {
  it('is an unversioned type stored in conflicts', () => {
    expect(resolver.versioned).toBe(false);
    expect(resolver.table).toBe('conflicts');
  });

  it('a delete of a live entry dismisses it: a tombstone', () => {
    expect(resolver.resolve(live, change('delete'), ctx)).toEqual({
      kind: 'apply',
      basedOnCurrent: true,
      next: { data: null, fieldClocks: live.fieldClocks, deleted: true },
    });
  });

  it.each([
    ['an unknown id', undefined],
    ['a dismissed entry', dismissed],
  ])('a delete of %s changes nothing', (_, current) => {
    expect(resolver.resolve(current, change('delete'), ctx)).toEqual({ kind: 'apply', basedOnCurrent: true });
  });

  it.each([
    ['create on an unknown id', undefined, change('create', ENTRY)],
    ['create over a live entry', live, change('create', ENTRY)],
    ['update of a live entry', live, change('update', { rejected: {} })],
    ['update of a dismissed entry', dismissed, change('update', { rejected: {} })],
  ])('%s -> server_wins Immutable', (_, current, c) => {
    expect(resolver.resolve(current, c, ctx)).toEqual({ kind: 'conflict', resolution: 'server_wins', reason: 'Immutable' });
  });
});
