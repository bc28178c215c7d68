import { Decision, SyncChangeErrorCode } from '../decision';
import { EntityData, EntityState, FieldClocks } from '../sync-change';
import { applyPatch, clampClientTime, createEntity, deletedConflict, deleteWins, lifecycleDecision, sameValue, serverWins } from './rules';
import { server } from './rules.fixtures';
import { t } from '@app/testing/resolver-fixtures';

/** Five minutes in µs: the skew of the clampClientTime table. */
const MIN5 = 5 * 60 * 1_000_000;

describe('sameValue', () => {
  it.each<[string, unknown, unknown, boolean]>([
    ['equal strings', 'a', 'a', true],
    ['different strings', 'a', 'b', false],
    ['equal numbers', 5, 5, true],
    ['number vs numeric string', 5, '5', false],
    ['null vs null', null, null, true],
    ['null vs undefined', null, undefined, false],
    ['undefined vs a value', undefined, 'a', false],
    ['null vs empty string', null, '', false],
    ['0 vs false', 0, false, false],
    ['equal arrays', ['a', 'b'], ['a', 'b'], true],
    ['arrays in another order', ['a', 'b'], ['b', 'a'], false],
    ['array vs longer array', ['a'], ['a', 'b'], false],
    ['equal objects', { a: 1, b: 'x' }, { a: 1, b: 'x' }, true],
    ['objects with another key order (as read back from jsonb)', { a: 1, b: 'x' }, { b: 'x', a: 1 }, true],
    ['nested objects with another key order', { o: { a: 1, b: [1, { c: 2, d: 3 }] } }, { o: { b: [1, { d: 3, c: 2 }], a: 1 } }, true],
    ['objects with a different value', { a: 1, b: 'x' }, { a: 1, b: 'y' }, false],
    ['object with an extra key', { a: 1 }, { a: 1, b: null }, false],
    ['an undefined property counts as absent (as in JSON)', { a: 1, b: undefined }, { a: 1 }, true],
    ['objects with the same key count but other keys', { a: 1, b: undefined }, { a: 1, c: 2 }, false],
    ['object vs array', {}, [], false],
    ['object vs null', {}, null, false],
  ])('%s', (_name, a, b, expected) => {
    expect(sameValue(a, b)).toBe(expected);
    expect(sameValue(b, a)).toBe(expected);
  });
});

describe('clampClientTime (rule 5: clock skew)', () => {
  const now = t(1000);
  it.each<[string, number, number, number]>([
    ['a time in the past is kept', t(0), MIN5, t(0)],
    ['the server clock itself is kept', now, MIN5, now],
    ['a time ahead within the skew is kept', now + MIN5 - 1, MIN5, now + MIN5 - 1],
    ['a time exactly at the skew limit is kept', now + MIN5, MIN5, now + MIN5],
    ['1 µs beyond the skew counts as now + skew', now + MIN5 + 1, MIN5, now + MIN5],
    ['a clock a year ahead counts as now + skew', now + 365 * 24 * 3600 * 1_000_000, MIN5, now + MIN5],
    ['with zero skew a time ahead counts as now', now + 1, 0, now],
  ])('%s', (_name, clientUs, skewUs, expected) => {
    expect(clampClientTime(clientUs, now, skewUs)).toBe(expected);
  });
});

describe('createEntity', () => {
  it.each<[string, EntityData]>([
    ['a task with its defaults', { title: 'A', desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null }],
    ['a single field', { title: 'A' }],
    ['an empty object', {}],
  ])('applies %s with every field written at the change time', (_name, data) => {
    expect(createEntity(data, t(7))).toEqual<Decision>({
      kind: 'apply',
      basedOnCurrent: true,
      next: { data, fieldClocks: Object.fromEntries(Object.keys(data).map((k) => [k, t(7)])), deleted: false },
    });
  });
});

describe('deleteWins (rule 2)', () => {
  const live = server();
  it.each<[string, EntityState | undefined, Decision]>([
    ['an unknown id: applied, nothing to write', undefined, { kind: 'apply', basedOnCurrent: true }],
    [
      'a tombstone: applied, nothing to write',
      { version: 4, data: null, fieldClocks: { title: t(1) }, deleted: true },
      { kind: 'apply', basedOnCurrent: true },
    ],
    [
      'a live entity: a tombstone that keeps the field clocks',
      live,
      { kind: 'apply', basedOnCurrent: true, next: { data: null, fieldClocks: live.fieldClocks, deleted: true } },
    ],
  ])('%s', (_name, current, expected) => {
    expect(deleteWins(current)).toEqual(expected);
  });
});

describe('conflict helpers', () => {
  it.each<[string, Decision, Decision]>([
    ['deletedConflict -> delete_wins', deletedConflict(), { kind: 'conflict', resolution: 'delete_wins', reason: 'Entity deleted' }],
    ['serverWins(Immutable)', serverWins('Immutable'), { kind: 'conflict', resolution: 'server_wins', reason: 'Immutable' }],
    [
      'serverWins(Server calculated)',
      serverWins('Server calculated'),
      { kind: 'conflict', resolution: 'server_wins', reason: 'Server calculated' },
    ],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });
});

describe('applyPatch (rule 1: version match)', () => {
  it.each<[string, EntityData, number, EntityData, FieldClocks]>([
    [
      'a newer patch writes its fields',
      { title: 'New' },
      t(30),
      { title: 'New', status: 'open', points: 5, assignees: ['u1'], desc: null },
      { title: t(30), status: t(10), points: t(20), assignees: t(10), desc: t(10) },
    ],
    [
      'an older patch is applied too (no time comparison on a version match)',
      { points: 9, status: 'done' },
      t(1),
      { title: 'Server title', status: 'done', points: 9, assignees: ['u1'], desc: null },
      { title: t(10), status: t(1), points: t(1), assignees: t(10), desc: t(10) },
    ],
    [
      'a new field is added with its clock',
      { due: '2025-12-01T00:00:00Z' },
      t(15),
      { title: 'Server title', status: 'open', points: 5, assignees: ['u1'], desc: null, due: '2025-12-01T00:00:00Z' },
      { title: t(10), status: t(10), points: t(20), assignees: t(10), desc: t(10), due: t(15) },
    ],
    [
      'an empty patch changes nothing',
      {},
      t(15),
      { title: 'Server title', status: 'open', points: 5, assignees: ['u1'], desc: null },
      { title: t(10), status: t(10), points: t(20), assignees: t(10), desc: t(10) },
    ],
  ])('%s', (_name, patch, clientUs, data, fieldClocks) => {
    const current = server();
    const before = structuredClone(current);
    expect(applyPatch(current, patch, clientUs)).toEqual<Decision>({
      kind: 'apply',
      basedOnCurrent: true,
      next: { data, fieldClocks, deleted: false },
    });
    expect(current).toEqual(before);
  });
});

describe('lifecycleDecision (what every mutable type decides first)', () => {
  const live = server();
  const gone: EntityState = { version: 4, data: null, fieldClocks: { title: t(10) }, deleted: true };
  const change = (action: 'create' | 'update' | 'delete', data?: EntityData) => ({
    index: 0,
    entityType: 'note',
    entityId: 'n1',
    action,
    data,
    clientUs: t(50),
  });
  it.each<[string, EntityState | undefined, ReturnType<typeof change>, ReturnType<typeof lifecycleDecision>]>([
    ['delete of a live entity wins', live, change('delete'), { decided: deleteWins(live) }],
    [
      'delete of an unknown id is applied without a write',
      undefined,
      change('delete'),
      { decided: { kind: 'apply', basedOnCurrent: true } },
    ],
    ['create of a new id', undefined, change('create', { title: 'A' }), { decided: createEntity({ title: 'A' }, t(50)) }],
    [
      'update of an unknown id',
      undefined,
      change('update', { title: 'A' }),
      { decided: { kind: 'error', code: SyncChangeErrorCode.NotFound, message: 'note n1 does not exist' } },
    ],
    ['update of a deleted entity', gone, change('update', { title: 'A' }), { decided: deletedConflict() }],
    ['create of a deleted id', gone, change('create', { title: 'A' }), { decided: deletedConflict() }],
    ['update of a live entity: its type decides', live, change('update', { title: 'A' }), { live }],
  ])('%s', (_name, current, c, expected) => expect(lifecycleDecision(current, c)).toEqual(expected));
});
