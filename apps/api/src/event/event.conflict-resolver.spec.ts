import { Decision, EntityData, EntityState, SyncAction, SyncChangeErrorCode } from '@app/sync-contract';
import { clocksAt, nextOf, t } from '@app/testing/resolver-fixtures';
import { change, ctx, eventState, resolver, tombstone } from './event.fixtures';

/** EventConflictResolver: its type, creates, rule 4 (last writer wins per field) and rule 2 (delete wins). */
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
});
