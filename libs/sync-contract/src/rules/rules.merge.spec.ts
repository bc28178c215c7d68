import fc from 'fast-check';
import { Decision } from '../decision';
import { EntityData, EntityState, FieldClocks } from '../sync-change';
import { FieldRule, mergeDecision, MergeResult, mergeFields } from './rules';
import { server } from './rules.fixtures';
import { t } from '@app/testing/resolver-fixtures';

/** Rule 4 of the shared rules: merging field by field and the decision a merge gives. */
describe('mergeFields (rule 4: last writer wins per field)', () => {
  it.each<[string, EntityData, number, string[], string[], EntityData, FieldClocks]>([
    ['a newer field wins', { title: 'Client' }, t(11), ['title'], [], { title: 'Client' }, { title: t(11) }],
    ['an older field loses', { title: 'Client' }, t(9), [], ['title'], {}, {}],
    ['a tie goes to the server', { title: 'Client' }, t(10), [], ['title'], {}, {}],
    ['1 µs newer wins', { title: 'Client' }, t(10) + 1, ['title'], [], { title: 'Client' }, { title: t(10) + 1 }],
    ['an equal value counts as won and writes nothing, even when older', { title: 'Server title' }, t(1), ['title'], [], {}, {}],
    ['an equal array counts as won', { assignees: ['u1'] }, t(1), ['assignees'], [], {}, {}],
    ['an equal null counts as won', { desc: null }, t(1), ['desc'], [], {}, {}],
    [
      'a field never written before wins',
      { due: '2025-01-01T00:00:00Z' },
      t(1),
      ['due'],
      [],
      { due: '2025-01-01T00:00:00Z' },
      { due: t(1) },
    ],
    [
      'fields are decided one by one',
      { title: 'Client', points: 7, status: 'in_progress' },
      t(15),
      ['title', 'status'],
      ['points'],
      { title: 'Client', status: 'in_progress' },
      { title: t(15), status: t(15) },
    ],
    [
      'a null replacing a value is a write like any other',
      { desc: 'x', assignees: [] },
      t(15),
      ['desc', 'assignees'],
      [],
      { desc: 'x', assignees: [] },
      { desc: t(15), assignees: t(15) },
    ],
    ['an empty patch wins nothing and loses nothing', {}, t(15), [], [], {}, {}],
  ])('%s', (_name, patch, clientUs, won, lost, changedData, changedClocks) => {
    const current = server();
    const before = structuredClone(current);
    const result = mergeFields(current, patch, clientUs);
    expect(result).toEqual<MergeResult>({
      won,
      lost,
      next: { data: { ...before.data, ...changedData }, fieldClocks: { ...before.fieldClocks, ...changedClocks }, deleted: false },
    });
    expect(current).toEqual(before);
  });

  it.each<[string, FieldRule, EntityData, number, string[], string[], EntityData, FieldClocks]>([
    ['a rule forcing a win beats a newer server field', () => true, { points: 1 }, t(1), ['points'], [], { points: 1 }, { points: t(1) }],
    [
      'a rule forcing a win on an equal value still writes the clock',
      () => true,
      { points: 5 },
      t(1),
      ['points'],
      [],
      {},
      { points: t(1) },
    ],
    ['a rule forcing a loss beats an older server field', () => false, { title: 'Client' }, t(99), [], ['title'], {}, {}],
    ['a rule forcing a loss on an equal value loses it', () => false, { title: 'Server title' }, t(99), [], ['title'], {}, {}],
    [
      'undefined falls back to the time rule',
      () => undefined,
      { title: 'Client', points: 1 },
      t(15),
      ['title'],
      ['points'],
      { title: 'Client' },
      { title: t(15) },
    ],
    [
      'the rule sees field and value',
      (field, value) => (field === 'status' && value === 'done' ? true : undefined),
      { status: 'done', title: 'Client' },
      t(5),
      ['status'],
      ['title'],
      { status: 'done' },
      { status: t(5) },
    ],
  ])('%s', (_name, rule, patch, clientUs, won, lost, changedData, changedClocks) => {
    const current = server();
    expect(mergeFields(current, patch, clientUs, rule)).toEqual<MergeResult>({
      won,
      lost,
      next: { data: { ...current.data, ...changedData }, fieldClocks: { ...current.fieldClocks, ...changedClocks }, deleted: false },
    });
  });

  it('merges into a state without data as into an empty object', () => {
    const current: EntityState = { version: 1, data: null, fieldClocks: {}, deleted: false };
    expect(mergeFields(current, { title: 'A' }, t(1))).toEqual<MergeResult>({
      won: ['title'],
      lost: [],
      next: { data: { title: 'A' }, fieldClocks: { title: t(1) }, deleted: false },
    });
  });
});

describe('mergeDecision', () => {
  const next = { data: { title: 'x' }, fieldClocks: { title: t(1) }, deleted: false };
  it.each<[string, string[], string[], 'server_wins' | 'done_wins' | undefined, Decision]>([
    [
      'all won -> applied, not based on the current state',
      ['title', 'points'],
      [],
      undefined,
      { kind: 'apply', basedOnCurrent: false, next },
    ],
    ['an empty patch -> applied', [], [], undefined, { kind: 'apply', basedOnCurrent: false, next }],
    [
      'some won -> merged with the rejected fields',
      ['title'],
      ['points', 'desc'],
      undefined,
      { kind: 'merge', next, rejectedFields: ['points', 'desc'], reason: 'R' },
    ],
    [
      'some won with done_wins -> still merged',
      ['title'],
      ['status'],
      'done_wins',
      { kind: 'merge', next, rejectedFields: ['status'], reason: 'R' },
    ],
    [
      'none won -> server_wins by default',
      [],
      ['title'],
      undefined,
      { kind: 'conflict', resolution: 'server_wins', reason: 'R', rejectedFields: ['title'] },
    ],
    [
      'none won with done_wins -> done_wins',
      [],
      ['status', 'title'],
      'done_wins',
      { kind: 'conflict', resolution: 'done_wins', reason: 'R', rejectedFields: ['status', 'title'] },
    ],
  ])('%s', (_name, won, lost, resolution, expected) => {
    expect(mergeDecision({ next, won, lost }, 'R', resolution)).toEqual(expected);
  });
});

describe('mergeFields with family policies (PROTOCOL 2.12)', () => {
  const fieldArb = fc.constantFrom('title', 'desc', 'points', 'due');
  const dataArb = fc.dictionary(fieldArb, fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: 0, max: 3 })));
  const clocksArb = fc.dictionary(fieldArb, fc.integer({ min: 0, max: 10 }));

  it('with no keep_device fields it decides exactly as without policies (property)', () => {
    fc.assert(
      fc.property(dataArb, clocksArb, dataArb, fc.integer({ min: 0, max: 10 }), (data, fieldClocks, patch, clientUs) => {
        const current = { version: 1, data, fieldClocks, deleted: false };
        expect(mergeFields(current, patch, clientUs, undefined, new Set())).toEqual(mergeFields(current, patch, clientUs));
      }),
    );
  });

  it('keep_device lets an older value win that field only, and reports the server value it overwrote', () => {
    const current = { version: 2, data: { title: 'Server', desc: 'S' }, fieldClocks: { title: 10, desc: 10 }, deleted: false };
    const merge = mergeFields(current, { title: 'Device', desc: 'D' }, 5, undefined, new Set(['title']));
    expect(merge.won).toEqual(['title']);
    expect(merge.lost).toEqual(['desc']);
    expect(merge.overridden).toEqual({ title: 'Server' });
    expect(mergeDecision(merge, 'Version mismatch')).toMatchObject({ kind: 'merge', overridden: { title: 'Server' } });
  });
});
