import { SyncClient } from './sync-client.js';

/**
 * Compile-time checks of the typed queries, run by `npm run typecheck` (each
 * `@ts-expect-error` fails the build when its line compiles). Jest only runs the body.
 */
function typedQueries(c: SyncClient): void {
  const open = c.query('task', { where: { status: 'open', points: { gte: 10 } }, orderBy: [{ field: 'due' }, 'title'], limit: 20 });
  const title: string = open.current[0].data.title;
  const status: 'open' | 'in_progress' | 'done' = open.current[0].data.status;
  c.query('event', { where: { start: { gte: '2026-01-01' } }, orderBy: { field: 'start', desc: true } });
  c.query('points_ledger', { where: { userId: { in: ['alice', 'bob'] } } });
  // @ts-expect-error a misspelt field
  c.query('task', { where: { stauts: 'open' } });
  // @ts-expect-error a value the field cannot hold
  c.query('task', { where: { status: 'closed' } });
  // @ts-expect-error an array field is not a query field
  c.query('task', { orderBy: 'assignees' });
  // @ts-expect-error three sort keys
  c.query('task', { orderBy: ['title', 'due', 'points'] });
  // @ts-expect-error an entity type the service does not have
  c.query('chore', {});
  // @ts-expect-error a field of another type
  void c.mutate('update', 'task', 't1', { start: '2026-01-01' });
  void [title, status];
}

describe('typed queries', () => {
  it('compile as the type checker is told (see npm run typecheck)', () => {
    expect(typeof typedQueries).toBe('function');
  });
});
