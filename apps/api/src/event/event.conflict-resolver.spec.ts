import { Decision, EntityData, EntityState, SyncAction, SyncChangeErrorCode } from '@app/sync-contract';
import { changeOf, clocksAt, nextOf, t, tombstoneAt } from '@app/testing/resolver-fixtures';
import { EventConflictResolver } from './event.conflict-resolver';

const ctx = { nowUs: t(1000) };

const resolver = new EventConflictResolver();

const change = changeOf('event', 'event-1');

/** An event at version 3: every field written at t(10), except end at t(20). */
const eventState = (): EntityState => ({
  version: 3,
  data: { title: 'Dinner', description: null, start: '2025-11-11T18:00:00Z', end: '2025-11-11T20:00:00Z', attendees: ['u1'] },
  fieldClocks: { title: t(10), description: t(10), start: t(10), end: t(20), attendees: t(10) },
  deleted: false,
});

const tombstone = () => tombstoneAt(4);

describe('EventConflictResolver', () => {
  it('is an unversioned type stored in events, whose applied entries carry the state (PROTOCOL 2: any event change)', () => {
    expect(resolver.versioned).toBe(false);
    expect(resolver.table).toBe('events');
    expect(resolver.appliedCarriesState).toBe(true);
  });

  describe('create', () => {
    it.each<[string, number | undefined]>([
      ['without version', undefined],
      ['with version 0', 0],
      ['with version 9 (ignored)', 9],
    ])('of a new id %s -> applied with every field written at the change time', (_name, version) => {
      const data = { title: 'Dinner', description: null, start: '2025-11-11T18:00:00Z', end: null, attendees: [] };
      expect(resolver.resolve(undefined, change('create', data, version, t(5)), ctx)).toEqual<Decision>({
        kind: 'apply',
        basedOnCurrent: true,
        next: { data, fieldClocks: clocksAt(data, t(5)), deleted: false },
      });
    });

    it.each<[string, EntityData, number, (cur: EntityState) => Decision]>([
      [
        'newer -> applied by LWW',
        { title: 'Lunch' },
        t(30),
        (cur) => ({ kind: 'apply', basedOnCurrent: false, next: nextOf(cur, { title: 'Lunch' }, { title: t(30) }) }),
      ],
      [
        'older -> server_wins',
        { title: 'Lunch' },
        t(1),
        () => ({ kind: 'conflict', resolution: 'server_wins', reason: expect.any(String), rejectedFields: ['title'] }),
      ],
    ])('of an existing id is an update: %s', (_name, data, clientUs, expected) => {
      const cur = eventState();
      expect(resolver.resolve(cur, change('create', data, 1, clientUs), ctx)).toEqual(expected(cur));
    });
  });

  describe('create of an existing id patches only the fields the client sent (not the create defaults)', () => {
    it.each<[string, EntityData, number, (cur: EntityState) => Decision]>([
      [
        'newer: title and start written, end and attendees kept',
        { title: 'Lunch', start: '2025-11-11T19:00:00Z' },
        t(30),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { title: 'Lunch', start: '2025-11-11T19:00:00Z' }, { title: t(30), start: t(30) }),
        }),
      ],
      [
        'older: only the sent fields are rejected',
        { title: 'Lunch', start: '2025-11-11T19:00:00Z' },
        t(1),
        () => ({
          kind: 'conflict',
          resolution: 'server_wins',
          reason: expect.any(String),
          rejectedFields: ['title', 'start'],
        }),
      ],
    ])('%s', (_name, sent, clientUs, expected) => {
      const validated = resolver.validate('create', sent);
      if (!validated.ok) throw new Error(validated.message);
      expect(validated.data).toEqual({ description: null, end: null, attendees: [], ...sent });
      const cur = eventState();
      expect(resolver.resolve(cur, { ...change('create', validated.data, undefined, clientUs), patch: sent }, ctx)).toEqual(expected(cur));
    });
  });

  describe('rule 4: always last writer wins per field, whatever the version', () => {
    const versions: [string, number | undefined][] = [
      ['no version', undefined],
      ['the server version', 3],
      ['a stale version', 1],
      ['a version ahead', 8],
    ];
    const cases: [string, EntityData, number, (cur: EntityState) => Decision][] = [
      [
        'a newer field -> applied, not based on the current state',
        { title: 'Lunch' },
        t(11),
        (cur) => ({ kind: 'apply', basedOnCurrent: false, next: nextOf(cur, { title: 'Lunch' }, { title: t(11) }) }),
      ],
      [
        'an older field -> server_wins',
        { title: 'Lunch' },
        t(9),
        () => ({ kind: 'conflict', resolution: 'server_wins', reason: expect.any(String), rejectedFields: ['title'] }),
      ],
      [
        'a tie -> server_wins',
        { title: 'Lunch' },
        t(10),
        () => ({ kind: 'conflict', resolution: 'server_wins', reason: expect.any(String), rejectedFields: ['title'] }),
      ],
      [
        'an equal value, older -> won, nothing written',
        { title: 'Dinner' },
        t(1),
        (cur) => ({ kind: 'apply', basedOnCurrent: false, next: nextOf(cur, {}, {}) }),
      ],
      [
        'some fields won -> merge',
        { title: 'Lunch', end: '2025-11-11T21:00:00Z' },
        t(15),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { title: 'Lunch' }, { title: t(15) }),
          rejectedFields: ['end'],
          reason: expect.any(String),
        }),
      ],
      [
        'no field won -> server_wins with every field',
        { title: 'Lunch', end: '2025-11-11T21:00:00Z', attendees: [] },
        t(5),
        () => ({ kind: 'conflict', resolution: 'server_wins', reason: expect.any(String), rejectedFields: ['title', 'end', 'attendees'] }),
      ],
      [
        'all fields won -> applied',
        { title: 'Lunch', end: '2025-11-11T21:00:00Z', attendees: ['u1', 'u2'] },
        t(25),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(
            cur,
            { title: 'Lunch', end: '2025-11-11T21:00:00Z', attendees: ['u1', 'u2'] },
            { title: t(25), end: t(25), attendees: t(25) },
          ),
        }),
      ],
    ];
    it.each(
      versions.flatMap(([vName, version]) =>
        cases.map(([cName, patch, clientUs, expected]) => [`${cName} (${vName})`, version, patch, clientUs, expected] as const),
      ),
    )('%s', (_name, version, patch, clientUs, expected) => {
      const cur = eventState();
      expect(resolver.resolve(cur, change('update', patch, version, clientUs), ctx)).toEqual(expected(cur));
    });
  });

  describe('rule 2: delete always wins', () => {
    it.each<[string, () => EntityState | undefined, Decision]>([
      [
        'a live event -> tombstone',
        eventState,
        { kind: 'apply', basedOnCurrent: true, next: { data: null, fieldClocks: eventState().fieldClocks, deleted: true } },
      ],
      ['a deleted event -> applied, nothing to write', tombstone, { kind: 'apply', basedOnCurrent: true }],
      ['an unknown id -> applied, nothing to write', () => undefined, { kind: 'apply', basedOnCurrent: true }],
    ])('delete of %s', (_name, current, expected) => {
      expect(resolver.resolve(current(), change('delete', undefined, undefined, t(1)), ctx)).toEqual(expected);
    });

    it.each<[string, SyncAction]>([
      ['update', 'update'],
      ['create', 'create'],
    ])('%s of a deleted event -> delete_wins, even with a newer time', (_name, action) => {
      expect(
        resolver.resolve(tombstone(), change(action, { title: 'x', start: '2025-11-11T18:00:00Z' }, undefined, t(999)), ctx),
      ).toEqual<Decision>({
        kind: 'conflict',
        resolution: 'delete_wins',
        reason: 'Entity deleted',
      });
    });
  });

  it('update of an unknown id -> error not_found', () => {
    expect(resolver.resolve(undefined, change('update', { title: 'x' }, undefined, t(1)), ctx)).toEqual({
      kind: 'error',
      code: SyncChangeErrorCode.NotFound,
      message: expect.stringContaining('event-1'),
    });
  });

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
