import { Decision, EntityData, EntityState, SyncAction, SyncChange, SyncChangeErrorCode } from '@app/sync-contract';
import { clocksAt, nextOf, t } from '@app/testing/resolver-fixtures';
import { change, COMPLETED, ctx, doneTask, openTask, resolver, SERVER_VERSION, tombstone } from './task.fixtures';

/** TaskConflictResolver, rule 2, unknown ids and creates of existing ids. */
describe('TaskConflictResolver', () => {
  describe('rule 2: delete always wins', () => {
    it.each<[string, number | undefined]>([
      ['the current version', SERVER_VERSION],
      ['a stale version', 1],
      ['a version ahead', SERVER_VERSION + 10],
      ['no version', undefined],
    ])('delete with %s -> tombstone', (_name, version) => {
      const cur = doneTask();
      expect(resolver.resolve(cur, change('delete', undefined, version, t(1)), ctx)).toEqual<Decision>({
        kind: 'apply',
        basedOnCurrent: true,
        next: { data: null, fieldClocks: cur.fieldClocks, deleted: true },
      });
    });

    it.each<[string, EntityState | undefined]>([
      ['an already deleted task', tombstone()],
      ['an unknown id', undefined],
    ])('delete of %s -> applied, nothing to write', (_name, current) => {
      expect(resolver.resolve(current, change('delete', undefined, 3, t(50)), ctx)).toEqual<Decision>({
        kind: 'apply',
        basedOnCurrent: true,
      });
    });

    it.each<[string, SyncAction, number | undefined, EntityData, number]>([
      ['update with the tombstone version', 'update', 6, { title: 'x' }, t(50)],
      ['update with a stale version', 'update', 2, { title: 'x' }, t(50)],
      ['update completing the task', 'update', 2, { status: 'done', completedAt: COMPLETED }, t(50)],
      ['create with a version', 'create', 1, { title: 'x', status: 'open' }, t(50)],
      ['create without a version', 'create', undefined, { title: 'x', status: 'open' }, t(50)],
    ])('%s on a deleted task -> delete_wins', (_name, action, version, data, clientUs) => {
      expect(resolver.resolve(tombstone(), change(action, data, version, clientUs), ctx)).toEqual<Decision>({
        kind: 'conflict',
        resolution: 'delete_wins',
        reason: 'Entity deleted',
      });
    });
  });

  describe('unknown ids', () => {
    it.each<[string, number | undefined]>([
      ['version 0', 0],
      ['version 3', 3],
      ['no version', undefined],
    ])('update with %s -> error not_found', (_name, version) => {
      const decision = resolver.resolve(undefined, change('update', { title: 'x' }, version, t(1)), ctx);
      expect(decision).toEqual({ kind: 'error', code: SyncChangeErrorCode.NotFound, message: expect.stringContaining('task-1') });
      expect(decision.kind === 'error' && decision.code).toBe('not_found');
    });

    it.each<[string, number | undefined]>([
      ['version 0', 0],
      ['version 1', 1],
      ['version 42 (ignored)', 42],
      ['no version', undefined],
    ])('create with %s -> applied with every field written at the change time', (_name, version) => {
      const data = { title: 'New', desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };
      expect(resolver.resolve(undefined, change('create', data, version, t(3)), ctx)).toEqual<Decision>({
        kind: 'apply',
        basedOnCurrent: true,
        next: { data, fieldClocks: clocksAt(data, t(3)), deleted: false },
      });
    });
  });

  describe('create of an existing id is handled as an update with the given version', () => {
    it.each<[string, number | undefined, EntityData, number, (cur: EntityState) => Decision]>([
      [
        'matching version -> applied as a patch',
        SERVER_VERSION,
        { title: 'Client', points: 1 },
        t(1),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: true,
          next: nextOf(cur, { title: 'Client', points: 1 }, { title: t(1), points: t(1) }),
        }),
      ],
      [
        'stale version, newer -> LWW applied',
        1,
        { title: 'Client' },
        t(30),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { title: 'Client' }, { title: t(30) }),
        }),
      ],
      [
        'stale version, older -> server_wins',
        1,
        { title: 'Client' },
        t(1),
        () => ({
          kind: 'conflict',
          resolution: 'server_wins',
          reason: 'Version mismatch',
          rejectedFields: ['title'],
        }),
      ],
      [
        'no version -> stale path, older loses',
        undefined,
        { title: 'Client', points: 1 },
        t(15),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { title: 'Client' }, { title: t(15) }),
          rejectedFields: ['points'],
          reason: 'Version mismatch',
        }),
      ],
      [
        'no version -> stale path, done still wins',
        undefined,
        { title: 'Client', status: 'done' },
        t(1),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { status: 'done' }, { status: t(1) }),
          rejectedFields: ['title'],
          reason: 'Version mismatch',
        }),
      ],
    ])('%s', (_name, version, data, clientUs, expected) => {
      const cur = openTask();
      expect(resolver.resolve(cur, change('create', data, version, clientUs), ctx)).toEqual(expected(cur));
    });
  });

  describe('create of an existing id patches only the fields the client sent (not the create defaults)', () => {
    const DEFAULTS = { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };
    /** As the DeltaService builds it: `data` with the defaults of validate('create'), `patch` with the sent fields. */
    const createOf = (sent: EntityData, version: number | undefined, clientUs: number): SyncChange => {
      const validated = resolver.validate('create', sent);
      if (!validated.ok) throw new Error(validated.message);
      expect(validated.data).toEqual({ ...DEFAULTS, ...sent });
      return { ...change('create', validated.data, version, clientUs), patch: sent };
    };

    it.each<[string, number | undefined, EntityData, number, (cur: EntityState) => Decision]>([
      [
        'matching version: only the title is written, the task stays done',
        SERVER_VERSION,
        { title: 'Client' },
        t(1),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: true,
          next: nextOf(cur, { title: 'Client' }, { title: t(1) }),
        }),
      ],
      [
        'stale and newer: the title wins, no done_wins for a status never sent',
        1,
        { title: 'Client' },
        t(30),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { title: 'Client' }, { title: t(30) }),
        }),
      ],
      [
        'stale and older: only the title is rejected',
        1,
        { title: 'Client' },
        t(1),
        () => ({
          kind: 'conflict',
          resolution: 'server_wins',
          reason: 'Version mismatch',
          rejectedFields: ['title'],
        }),
      ],
      [
        'no version and an explicit reopen: done wins on the status',
        undefined,
        { title: 'Client', status: 'open' },
        t(30),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { title: 'Client' }, { title: t(30) }),
          rejectedFields: ['status'],
          reason: 'Done wins',
        }),
      ],
    ])('%s', (_name, version, sent, clientUs, expected) => {
      const cur = doneTask();
      expect(resolver.resolve(cur, createOf(sent, version, clientUs), ctx)).toEqual(expected(cur));
    });

    it('a create of a new id still writes the defaults', () => {
      const created = createOf({ title: 'New' }, 0, t(3));
      expect(resolver.resolve(undefined, created, ctx)).toEqual<Decision>({
        kind: 'apply',
        basedOnCurrent: true,
        next: { data: { ...DEFAULTS, title: 'New' }, fieldClocks: clocksAt({ ...DEFAULTS, title: 'New' }, t(3)), deleted: false },
      });
    });
  });
});
