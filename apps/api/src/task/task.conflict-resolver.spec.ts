import { Decision, EntityData, EntityState } from '@app/sync-contract';
import { clocksAt, nextOf, t } from '@app/testing/resolver-fixtures';
import { change, COMPLETED, ctx, doneTask, openTask, resolver, SERVER_VERSION } from './task.fixtures';

/** TaskConflictResolver, rules 1 and 4: version match, last writer wins per field. */
describe('TaskConflictResolver', () => {
  it('is a versioned type stored in tasks', () => {
    expect(resolver.versioned).toBe(true);
    expect(resolver.table).toBe('tasks');
  });

  describe('rule 1: version match applies, whatever the times', () => {
    it.each<[string, () => EntityState, EntityData, number]>([
      ['a newer patch', openTask, { title: 'Client title' }, t(30)],
      ['an older patch (no time comparison on a match)', openTask, { title: 'Client title', points: 1 }, t(1)],
      ['a patch with a tie', openTask, { title: 'Client title' }, t(10)],
      [
        'a patch of every field',
        openTask,
        { title: 'T', desc: 'd', status: 'in_progress', assignees: [], due: '2025-12-01T00:00:00Z', points: 9 },
        t(5),
      ],
      ['completing the task', openTask, { status: 'done', completedAt: COMPLETED }, t(5)],
      ['reopening a done task (not stale: allowed)', doneTask, { status: 'open', completedAt: null }, t(5)],
      ['a patch with values equal to the server', openTask, { title: 'Server title' }, t(5)],
      ['an empty patch', openTask, {}, t(5)],
    ])('%s -> apply, based on the current state', (_name, current, patch, clientUs) => {
      const cur = current();
      expect(resolver.resolve(cur, change('update', patch, SERVER_VERSION, clientUs), ctx)).toEqual<Decision>({
        kind: 'apply',
        basedOnCurrent: true,
        next: nextOf(cur, patch, clocksAt(patch, clientUs)),
      });
    });

    it('does not touch the version (version + 1 is done by the DeltaService) nor mutate the current state', () => {
      const cur = openTask();
      const before = structuredClone(cur);
      const decision = resolver.resolve(cur, change('update', { title: 'x' }, SERVER_VERSION, t(30)), ctx);
      expect(decision.kind === 'apply' && decision.next).not.toHaveProperty('version');
      expect(cur).toEqual(before);
    });
  });

  describe('rule 4: version mismatch -> last writer wins per field', () => {
    it.each<[string, number | undefined, EntityData, number, Decision | ((cur: EntityState) => Decision)]>([
      [
        'a newer field wins -> applied, not based on the current state',
        2,
        { title: 'Client' },
        t(11),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { title: 'Client' }, { title: t(11) }),
        }),
      ],
      [
        'an older field loses -> server_wins Version mismatch',
        2,
        { title: 'Client' },
        t(9),
        {
          kind: 'conflict',
          resolution: 'server_wins',
          reason: 'Version mismatch',
          rejectedFields: ['title'],
        },
      ],
      [
        'a tie goes to the server',
        2,
        { title: 'Client' },
        t(10),
        {
          kind: 'conflict',
          resolution: 'server_wins',
          reason: 'Version mismatch',
          rejectedFields: ['title'],
        },
      ],
      [
        'an equal value counts as won (older time, nothing written)',
        2,
        { title: 'Server title' },
        t(1),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, {}, {}),
        }),
      ],
      [
        'all fields won -> applied',
        3,
        { title: 'Client', desc: 'text', assignees: ['u2'] },
        t(15),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { title: 'Client', desc: 'text', assignees: ['u2'] }, { title: t(15), desc: t(15), assignees: t(15) }),
        }),
      ],
      [
        'some fields won -> merge with the rejected fields',
        3,
        { title: 'Client', points: 50 },
        t(15),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { title: 'Client' }, { title: t(15) }),
          rejectedFields: ['points'],
          reason: 'Version mismatch',
        }),
      ],
      [
        'several fields lost, one won',
        1,
        { title: 'Client', points: 50, status: 'in_progress' },
        t(15),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { title: 'Client', status: 'in_progress' }, { title: t(15), status: t(15) }),
          rejectedFields: ['points'],
          reason: 'Version mismatch',
        }),
      ],
      [
        'no field won -> server_wins listing all',
        0,
        { title: 'Client', points: 50, status: 'in_progress' },
        t(5),
        {
          kind: 'conflict',
          resolution: 'server_wins',
          reason: 'Version mismatch',
          rejectedFields: ['title', 'points', 'status'],
        },
      ],
      [
        'a version ahead of the server is a mismatch too',
        SERVER_VERSION + 3,
        { title: 'Client' },
        t(5),
        {
          kind: 'conflict',
          resolution: 'server_wins',
          reason: 'Version mismatch',
          rejectedFields: ['title'],
        },
      ],
      [
        'a field the server never wrote wins',
        2,
        { title: 'Client', extraNote: 'x' },
        t(5),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { extraNote: 'x' }, { extraNote: t(5) }),
          rejectedFields: ['title'],
          reason: 'Version mismatch',
        }),
      ],
      [
        'moving an open task to in_progress is plain LWW (older loses)',
        2,
        { status: 'in_progress' },
        t(5),
        {
          kind: 'conflict',
          resolution: 'server_wins',
          reason: 'Version mismatch',
          rejectedFields: ['status'],
        },
      ],
    ])('%s', (_name, version, patch, clientUs, expected) => {
      const cur = openTask();
      const want = typeof expected === 'function' ? expected(cur) : expected;
      expect(resolver.resolve(cur, change('update', patch, version, clientUs), ctx)).toEqual(want);
    });
  });
});
