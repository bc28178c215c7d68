import { EntityData } from '@app/sync-contract';
import { t } from '@app/testing/resolver-fixtures';
import { change, ctx, eventState, resolver } from './event.fixtures';

/** EventConflictResolver: validation and the end >= start check of the merged state. */
describe('EventConflictResolver', () => {
  describe('validate', () => {
    const DEFAULTS = { description: null, end: null, attendees: [] };
    const START = '2025-11-11T18:00:00Z';

    it.each<[string, EntityData, EntityData]>([
      ['title and start -> defaults filled in', { title: 'A', start: START }, { ...DEFAULTS, title: 'A', start: START }],
      ['end equal to start', { title: 'A', start: START, end: START }, { ...DEFAULTS, title: 'A', start: START, end: START }],
      [
        'end after start',
        { title: 'A', start: START, end: '2025-11-11T19:00:00Z' },
        { ...DEFAULTS, title: 'A', start: START, end: '2025-11-11T19:00:00Z' },
      ],
      [
        'end after start in another zone',
        { title: 'A', start: START, end: '2025-11-11T19:30:00+01:00' },
        { ...DEFAULTS, title: 'A', start: START, end: '2025-11-11T19:30:00+01:00' },
      ],
      [
        'end 1 µs after start',
        { title: 'A', start: '2025-11-11T18:00:00.000001Z', end: '2025-11-11T18:00:00.000002Z' },
        { ...DEFAULTS, title: 'A', start: '2025-11-11T18:00:00.000001Z', end: '2025-11-11T18:00:00.000002Z' },
      ],
      [
        '500-character title, 10000-character description',
        { title: 't'.repeat(500), start: START, description: 'd'.repeat(10000) },
        { ...DEFAULTS, title: 't'.repeat(500), start: START, description: 'd'.repeat(10000) },
      ],
      [
        '200 attendees',
        { title: 'A', start: START, attendees: Array.from({ length: 200 }, (_, i) => `u${i}`) },
        { ...DEFAULTS, title: 'A', start: START, attendees: Array.from({ length: 200 }, (_, i) => `u${i}`) },
      ],
    ])('create: %s', (_name, data, expected) => {
      expect(resolver.validate('create', data)).toEqual({ ok: true, data: expected });
    });

    it.each<[string, EntityData]>([
      ['a single field, no defaults added', { title: 'B' }],
      ['an empty patch', {}],
      ['only an end (checked against the stored start after the merge)', { end: '2000-01-01T00:00:00Z' }],
      ['only a start', { start: '2030-01-01T00:00:00Z' }],
      ['clearing end', { end: null }],
      ['start and end together, in order', { start: START, end: '2025-11-11T19:00:00Z' }],
    ])('update: %s', (_name, data) => {
      expect(resolver.validate('update', data)).toEqual({ ok: true, data });
    });

    it.each<[string, 'create' | 'update', unknown, string]>([
      ['missing title on create', 'create', { start: START }, 'title'],
      ['missing start on create', 'create', { title: 'A' }, 'start'],
      ['empty title', 'create', { title: '', start: START }, 'title'],
      ['501-character title', 'update', { title: 'x'.repeat(501) }, 'title'],
      ['null title', 'update', { title: null }, 'title'],
      ['10001-character description', 'update', { description: 'd'.repeat(10001) }, 'description'],
      ['a start that is not ISO', 'update', { start: 'tonight' }, 'start'],
      ['a null start', 'update', { start: null }, 'start'],
      ['an end that is not ISO', 'update', { end: 'later' }, 'end'],
      ['end before start on create', 'create', { title: 'A', start: START, end: '2025-11-11T17:59:59Z' }, 'end'],
      ['end before start in a patch', 'update', { start: START, end: '2025-11-11T17:00:00Z' }, 'end'],
      [
        'end before start once zones are applied',
        'create',
        { title: 'A', start: '2025-11-11T18:00:00Z', end: '2025-11-11T18:30:00+01:00' },
        'end',
      ],
      ['end 1 µs before start', 'create', { title: 'A', start: '2025-11-11T18:00:00.000002Z', end: '2025-11-11T18:00:00.000001Z' }, 'end'],
      ['201 attendees', 'update', { attendees: Array.from({ length: 201 }, (_, i) => `u${i}`) }, 'attendees'],
      ['a numeric attendee', 'update', { attendees: [1] }, 'attendees'],
      ['an unknown field', 'update', { location: 'home' }, 'location'],
      ['a task field on an event', 'create', { title: 'A', start: START, status: 'done' }, 'status'],
    ])('refuses %s with a message naming the field', (_name, action, data, field) => {
      const result = resolver.validate(action, data);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.message).toContain(field);
    });

    it.each<[string, unknown]>([
      ['null', null],
      ['an array', []],
      ['a number', 3],
    ])('refuses %s as data', (_name, data) => {
      expect(resolver.validate('create', data)).toEqual({ ok: false, message: 'data must be an object' });
      expect(resolver.validate('update', data)).toEqual({ ok: false, message: 'data must be an object' });
    });
  });

  describe('checkState (end >= start on the merged state)', () => {
    it.each<[string, EntityData, boolean]>([
      ['end after start', { start: '2025-11-11T18:00:00Z', end: '2025-11-11T20:00:00Z' }, true],
      ['end equal to start', { start: '2025-11-11T18:00:00Z', end: '2025-11-11T18:00:00Z' }, true],
      ['no end', { start: '2025-11-11T18:00:00Z', end: null }, true],
      ['no start', { end: '2025-11-11T18:00:00Z' }, true],
      ['end before start', { start: '2025-11-11T18:00:00Z', end: '2025-11-11T17:00:00Z' }, false],
      ['end 1 µs before start', { start: '2025-11-11T18:00:00.000002Z', end: '2025-11-11T18:00:00.000001Z' }, false],
      ['end before start across zones', { start: '2025-11-11T18:00:00-02:00', end: '2025-11-11T19:00:00Z' }, false],
    ])('%s -> ok: %s', (_name, data, ok) => {
      const problem = resolver.checkState(data);
      if (ok) expect(problem).toBeUndefined();
      else expect(problem).toEqual(expect.stringContaining('end'));
    });

    it.each<[string, EntityData, number, boolean]>([
      ['a newer start after the stored end', { start: '2025-11-11T21:00:00Z' }, t(30), false],
      ['a newer end before the stored start', { end: '2025-11-11T17:00:00Z' }, t(30), false],
      [
        'a newer start that wins while its end loses (end older)',
        { start: '2025-11-11T21:00:00Z', end: '2025-11-11T22:00:00Z' },
        t(15),
        false,
      ],
      ['a newer start and end that both win', { start: '2025-11-11T21:00:00Z', end: '2025-11-11T22:00:00Z' }, t(30), true],
      ['a newer start that stays before the stored end', { start: '2025-11-11T19:00:00Z' }, t(30), true],
      ['an older start that loses leaves the state valid', { start: '2025-11-11T21:00:00Z' }, t(1), true],
    ])('after a merge: %s -> valid: %s', (_name, patch, clientUs, valid) => {
      expect(resolver.validate('update', patch).ok).toBe(true);
      const decision = resolver.resolve(eventState(), change('update', patch, undefined, clientUs), ctx);
      const data = decision.kind === 'apply' || decision.kind === 'merge' ? decision.next?.data : eventState().data;
      expect(resolver.checkState(data!) === undefined).toBe(valid);
    });
  });
});
