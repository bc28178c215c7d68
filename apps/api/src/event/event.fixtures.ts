import { EntityState } from '@app/sync-contract';
import { changeOf, t, tombstoneAt } from '@app/testing/resolver-fixtures';
import { EventConflictResolver } from './event.conflict-resolver';

/** The event states and changes the resolver's specs share (test-only: the build excludes *.fixtures.ts). */
export const ctx = { nowUs: t(1000) };

export const resolver = new EventConflictResolver();

export const change = changeOf('event', 'event-1');

/** An event at version 3: every field written at t(10), except end at t(20). */
export const eventState = (): EntityState => ({
  version: 3,
  data: { title: 'Dinner', description: null, start: '2025-11-11T18:00:00Z', end: '2025-11-11T20:00:00Z', attendees: ['u1'] },
  fieldClocks: { title: t(10), description: t(10), start: t(10), end: t(20), attendees: t(10) },
  deleted: false,
});

export const tombstone = () => tombstoneAt(4);
