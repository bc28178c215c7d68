import { Decision, EntityData, EntityState, SyncAction, SyncChange } from '@app/sync-contract';
import { changeOf, t } from '@app/testing/resolver-fixtures';
import { PointsLedgerConflictResolver } from './points-ledger.conflict-resolver';

const ctx = { nowUs: t(1000) };

const resolver = new PointsLedgerConflictResolver();

const ledgerChange = changeOf('points_ledger', 'entry-1');
const change = (action: SyncAction, data: EntityData | undefined, clientUs = t(50), version?: number): SyncChange =>
  ledgerChange(action, data, version, clientUs);

/** A create's data after validation (defaults first, in the order validate produces). */
const ENTRY = { reason: 'bonus', taskId: null, userId: 'u1', delta: 10 };
const stored = (data: EntityData = ENTRY): EntityState => ({
  version: 1,
  data,
  fieldClocks: { userId: t(10), delta: t(10), reason: t(10), taskId: t(10) },
  deleted: false,
});
const IMMUTABLE: Decision = { kind: 'conflict', resolution: 'server_wins', reason: 'Immutable' };

describe('PointsLedgerConflictResolver (rule 6: append-only)', () => {
  it('is an unversioned type stored in points_ledger', () => {
    expect(resolver.versioned).toBe(false);
    expect(resolver.table).toBe('points_ledger');
  });

  it.each<[string, number | undefined]>([
    ['without version', undefined],
    ['with version 0', 0],
    ['with version 1', 1],
  ])('create of a new id %s -> applied', (_name, version) => {
    expect(resolver.resolve(undefined, change('create', ENTRY, t(5), version), ctx)).toEqual<Decision>({
      kind: 'apply',
      basedOnCurrent: true,
      next: { data: ENTRY, fieldClocks: { reason: t(5), taskId: t(5), userId: t(5), delta: t(5) }, deleted: false },
    });
  });

  it.each<[string, EntityData, EntityData, number]>([
    ['the same data, same key order', ENTRY, ENTRY, t(50)],
    ['the same data with the key order of a jsonb column', { delta: 10, reason: 'bonus', taskId: null, userId: 'u1' }, ENTRY, t(50)],
    ['the same data with another client time', ENTRY, { ...ENTRY }, t(1)],
  ])('replay of a create with %s -> applied, nothing to write', (_name, current, data, clientUs) => {
    expect(resolver.resolve(stored(current), change('create', data, clientUs), ctx)).toEqual<Decision>({
      kind: 'apply',
      basedOnCurrent: true,
    });
  });

  it.each<[string, EntityData]>([
    ['another delta', { ...ENTRY, delta: 11 }],
    ['a negated delta', { ...ENTRY, delta: -10 }],
    ['another user', { ...ENTRY, userId: 'u2' }],
    ['another reason', { ...ENTRY, reason: 'other' }],
    ['a null reason', { ...ENTRY, reason: null }],
    ['a task id', { ...ENTRY, taskId: 'task-1' }],
  ])('create of an existing id with %s -> server_wins Immutable', (_name, data) => {
    expect(resolver.resolve(stored(), change('create', data), ctx)).toEqual(IMMUTABLE);
  });

  it.each<[string, SyncAction, EntityData | undefined, () => EntityState | undefined]>([
    ['update of an existing entry', 'update', { delta: 20 }, () => stored()],
    ['update with the same data', 'update', ENTRY, () => stored()],
    ['update of an unknown id', 'update', { delta: 20 }, () => undefined],
    ['delete of an existing entry (rule 6 before rule 2)', 'delete', undefined, () => stored()],
    ['delete of an unknown id', 'delete', undefined, () => undefined],
    ['create of a deleted entry with the same data', 'create', ENTRY, () => ({ ...stored(), data: null, deleted: true })],
    ['update of a deleted entry', 'update', { delta: 20 }, () => ({ ...stored(), data: null, deleted: true })],
    ['delete of a deleted entry', 'delete', undefined, () => ({ ...stored(), data: null, deleted: true })],
  ])('%s -> server_wins Immutable', (_name, action, data, current) => {
    expect(resolver.resolve(current(), change(action, data, t(999), 1), ctx)).toEqual(IMMUTABLE);
  });

  describe('validate', () => {
    it.each<[string, EntityData, EntityData]>([
      ['userId and delta -> defaults filled in', { userId: 'u1', delta: 10 }, { reason: null, taskId: null, userId: 'u1', delta: 10 }],
      ['a negative delta', { userId: 'u1', delta: -1 }, { reason: null, taskId: null, userId: 'u1', delta: -1 }],
      ['delta 1000000', { userId: 'u1', delta: 1_000_000 }, { reason: null, taskId: null, userId: 'u1', delta: 1_000_000 }],
      ['delta -1000000', { userId: 'u1', delta: -1_000_000 }, { reason: null, taskId: null, userId: 'u1', delta: -1_000_000 }],
      [
        'every field',
        { userId: 'u1', delta: 5, reason: 'r'.repeat(200), taskId: 'task-1' },
        { userId: 'u1', delta: 5, reason: 'r'.repeat(200), taskId: 'task-1' },
      ],
      [
        'a null taskId and reason',
        { userId: 'u1', delta: 5, reason: null, taskId: null },
        { userId: 'u1', delta: 5, reason: null, taskId: null },
      ],
    ])('create: %s', (_name, data, expected) => {
      expect(resolver.validate('create', data)).toEqual({ ok: true, data: expected });
    });

    it.each<[string, unknown, string]>([
      ['delta 0', { userId: 'u1', delta: 0 }, 'delta'],
      ['delta 1000001', { userId: 'u1', delta: 1_000_001 }, 'delta'],
      ['delta -1000001', { userId: 'u1', delta: -1_000_001 }, 'delta'],
      ['delta 1.5', { userId: 'u1', delta: 1.5 }, 'delta'],
      ['delta as a string', { userId: 'u1', delta: '10' }, 'delta'],
      ['missing delta', { userId: 'u1' }, 'delta'],
      ['missing userId', { delta: 10 }, 'userId'],
      ['an empty userId', { userId: '', delta: 10 }, 'userId'],
      ['a numeric userId', { userId: 7, delta: 10 }, 'userId'],
      ['a 201-character reason', { userId: 'u1', delta: 10, reason: 'r'.repeat(201) }, 'reason'],
      ['a numeric taskId', { userId: 'u1', delta: 10, taskId: 3 }, 'taskId'],
      ['an unknown field', { userId: 'u1', delta: 10, points: 3 }, 'points'],
    ])('refuses %s with a message naming the field', (_name, data, field) => {
      const result = resolver.validate('create', data);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.message).toContain(field);
    });

    it.each<[string, unknown]>([
      ['null', null],
      ['an array', []],
    ])('refuses %s as create data', (_name, data) => {
      expect(resolver.validate('create', data)).toEqual({ ok: false, message: 'data must be an object' });
    });

    it.each<[string, unknown]>([
      ['a valid patch', { delta: 5 }],
      ['an invalid patch', { delta: 0, extra: true }],
    ])('update with %s passes validation: the rules refuse it as Immutable', (_name, data) => {
      expect(resolver.validate('update', data).ok).toBe(true);
    });
  });
});
