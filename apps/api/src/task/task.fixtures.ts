import { EntityData, EntityState, FieldClocks } from '@app/sync-contract';
import { changeOf, liveState, t, tombstoneAt } from '@app/testing/resolver-fixtures';
import { TaskConflictResolver } from './task.conflict-resolver';

/** The task states and changes the resolver's specs share (test-only: the build excludes *.fixtures.ts). */
export const NOW = t(1000);
export const ctx = { nowUs: NOW };
export const SERVER_VERSION = 4;
export const COMPLETED = '2025-11-11T14:30:00.000000Z';

export const resolver = new TaskConflictResolver();

export const change = changeOf('task', 'task-1');

export const stateOf = (data: EntityData, fieldClocks: FieldClocks, version = SERVER_VERSION): EntityState =>
  liveState(data, fieldClocks, version);

/** An open task: every field written at t(10), except points at t(20). */
export const openTask = () =>
  stateOf(
    { title: 'Server title', desc: null, status: 'open', assignees: ['u1'], due: null, points: 5, completedAt: null },
    { title: t(10), desc: t(10), status: t(10), assignees: t(10), due: t(10), points: t(20), completedAt: t(10) },
  );

/** A done task: every field written at t(10). */
export const doneTask = () =>
  stateOf(
    { title: 'Server title', desc: null, status: 'done', assignees: ['u1'], due: null, points: 5, completedAt: COMPLETED },
    { title: t(10), desc: t(10), status: t(10), assignees: t(10), due: t(10), points: t(10), completedAt: t(10) },
  );

export const tombstone = () => tombstoneAt(6);
