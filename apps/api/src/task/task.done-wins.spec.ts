import { Decision, EntityData, EntityState } from '@app/sync-contract';
import { nextOf, t } from '@app/testing/resolver-fixtures';
import { change, COMPLETED, ctx, doneTask, openTask, resolver } from './task.fixtures';

/** TaskConflictResolver, rule 3: done wins. */
describe('TaskConflictResolver', () => {
  describe('rule 3: done wins on a stale version', () => {
    it.each<[string, () => EntityState, EntityData, number, (cur: EntityState) => Decision]>([
      [
        'done + completedAt with old timestamps -> applied',
        openTask,
        { status: 'done', completedAt: COMPLETED },
        t(1),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { status: 'done', completedAt: COMPLETED }, { status: t(1), completedAt: t(1) }),
        }),
      ],
      [
        'done with a tie on the status -> applied',
        openTask,
        { status: 'done', completedAt: COMPLETED },
        t(10),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { status: 'done', completedAt: COMPLETED }, { status: t(10), completedAt: t(10) }),
        }),
      ],
      [
        'done without completedAt -> applied',
        openTask,
        { status: 'done' },
        t(1),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { status: 'done' }, { status: t(1) }),
        }),
      ],
      [
        'done from in_progress -> applied',
        () => ({ ...openTask(), data: { ...openTask().data, status: 'in_progress' } }),
        { status: 'done', completedAt: COMPLETED },
        t(1),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { status: 'done', completedAt: COMPLETED }, { status: t(1), completedAt: t(1) }),
        }),
      ],
      [
        'done + an older title: the server title is kept -> merge',
        openTask,
        { status: 'done', completedAt: COMPLETED, title: 'Client' },
        t(5),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { status: 'done', completedAt: COMPLETED }, { status: t(5), completedAt: t(5) }),
          rejectedFields: ['title'],
          reason: 'Version mismatch',
        }),
      ],
      [
        'done + a newer title and an older points: title wins by LWW, points lost',
        openTask,
        { status: 'done', completedAt: COMPLETED, title: 'Client', points: 9 },
        t(15),
        (cur) => ({
          kind: 'merge',
          next: nextOf(
            cur,
            { status: 'done', completedAt: COMPLETED, title: 'Client' },
            { status: t(15), completedAt: t(15), title: t(15) },
          ),
          rejectedFields: ['points'],
          reason: 'Version mismatch',
        }),
      ],
      [
        'done + newer fields: everything applied',
        openTask,
        { status: 'done', completedAt: COMPLETED, title: 'Client', points: 9 },
        t(30),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(
            cur,
            { status: 'done', completedAt: COMPLETED, title: 'Client', points: 9 },
            { status: t(30), completedAt: t(30), title: t(30), points: t(30) },
          ),
        }),
      ],
      [
        'done on a task already done: equal status counts as won, completedAt by LWW (older loses)',
        doneTask,
        { status: 'done', completedAt: '2025-11-12T00:00:00Z' },
        t(5),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, {}, {}),
          rejectedFields: ['completedAt'],
          reason: 'Version mismatch',
        }),
      ],
      [
        'done on a task already done: newer completedAt wins',
        doneTask,
        { status: 'done', completedAt: '2025-11-12T00:00:00Z' },
        t(15),
        (cur) => ({
          kind: 'apply',
          basedOnCurrent: false,
          next: nextOf(cur, { completedAt: '2025-11-12T00:00:00Z' }, { completedAt: t(15) }),
        }),
      ],
    ])('%s', (_name, current, patch, clientUs, expected) => {
      const cur = current();
      expect(resolver.resolve(cur, change('update', patch, 1, clientUs), ctx)).toEqual(expected(cur));
    });

    it.each<[string, EntityData, number, (cur: EntityState) => Decision]>([
      [
        'reopen with an older time -> done_wins',
        { status: 'open' },
        t(5),
        () => ({
          kind: 'conflict',
          resolution: 'done_wins',
          reason: 'Done wins',
          rejectedFields: ['status'],
        }),
      ],
      [
        'reopen with a newer time still loses the status -> done_wins',
        { status: 'open' },
        t(50),
        () => ({
          kind: 'conflict',
          resolution: 'done_wins',
          reason: 'Done wins',
          rejectedFields: ['status'],
        }),
      ],
      [
        'in_progress on a done task -> done_wins',
        { status: 'in_progress' },
        t(50),
        () => ({
          kind: 'conflict',
          resolution: 'done_wins',
          reason: 'Done wins',
          rejectedFields: ['status'],
        }),
      ],
      [
        'reopen + a newer title -> merge, the task stays done',
        { status: 'open', title: 'Client' },
        t(50),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, { title: 'Client' }, { title: t(50) }),
          rejectedFields: ['status'],
          reason: 'Done wins',
        }),
      ],
      [
        'reopen + an older title -> nothing applied, status lost to done wins -> done_wins',
        { status: 'open', title: 'Client' },
        t(5),
        () => ({
          kind: 'conflict',
          resolution: 'done_wins',
          reason: 'Done wins',
          rejectedFields: ['status', 'title'],
        }),
      ],
      [
        'reopen + a newer completedAt: null -> the completion time stays with the done status',
        { status: 'open', completedAt: null },
        t(50),
        () => ({
          kind: 'conflict',
          resolution: 'done_wins',
          reason: 'Done wins',
          rejectedFields: ['status', 'completedAt'],
        }),
      ],
      [
        'reopen + an equal title -> merge (the title counts as won)',
        { status: 'open', title: 'Server title' },
        t(5),
        (cur) => ({
          kind: 'merge',
          next: nextOf(cur, {}, {}),
          rejectedFields: ['status'],
          reason: 'Done wins',
        }),
      ],
    ])('stale change moving a done task back: %s', (_name, patch, clientUs, expected) => {
      const cur = doneTask();
      expect(resolver.resolve(cur, change('update', patch, 2, clientUs), ctx)).toEqual(expected(cur));
    });
  });
});
