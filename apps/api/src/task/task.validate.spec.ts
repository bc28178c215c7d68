import { clampClientTime, Decision, EntityData, EntityState } from '@app/sync-contract';
import { nextOf } from '@app/testing/resolver-fixtures';
import { change, ctx, NOW, openTask, resolver, SERVER_VERSION, stateOf } from './task.fixtures';

/** TaskConflictResolver, rule 5 (clock skew) and validation. */
describe('TaskConflictResolver', () => {
  describe('rule 5: clock skew (times reach the resolver clamped by clampClientTime)', () => {
    const SKEW = 5 * 60 * 1_000_000;
    it('a device whose clock runs an hour ahead cannot win against a later write', () => {
      const hourAhead = NOW + 3600 * 1_000_000;
      const clamped = clampClientTime(hourAhead, NOW, SKEW);
      expect(clamped).toBe(NOW + SKEW);

      const first = resolver.resolve(openTask(), change('update', { title: 'From the future' }, 1, clamped), ctx);
      expect(first.kind).toBe('apply');
      const afterFirst: EntityState = { version: SERVER_VERSION + 1, ...(first as Extract<Decision, { kind: 'apply' }>).next! };
      expect(afterFirst.fieldClocks.title).toBe(NOW + SKEW);

      // Ten minutes later (server time), an honest device writes the title on a stale version.
      const later = NOW + 10 * 60 * 1_000_000;
      const honest = clampClientTime(later, later, SKEW);
      expect(resolver.resolve(afterFirst, change('update', { title: 'Honest' }, 1, honest), { nowUs: later })).toEqual<Decision>({
        kind: 'apply',
        basedOnCurrent: false,
        next: nextOf(afterFirst, { title: 'Honest' }, { title: later }),
      });
    });

    it('two writes clamped to the same instant tie, and the tie goes to the server', () => {
      const clamped = clampClientTime(NOW + 10 * SKEW, NOW, SKEW);
      const cur = stateOf({ ...openTask().data, title: 'Server' }, { ...openTask().fieldClocks, title: clamped });
      expect(
        resolver.resolve(cur, change('update', { title: 'Client' }, 1, clampClientTime(NOW + 20 * SKEW, NOW, SKEW)), ctx),
      ).toEqual<Decision>({
        kind: 'conflict',
        resolution: 'server_wins',
        reason: 'Version mismatch',
        rejectedFields: ['title'],
      });
    });
  });

  describe('validate', () => {
    const DEFAULTS = { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };

    it.each<[string, EntityData, EntityData]>([
      ['title only -> every default filled in', { title: 'A' }, { ...DEFAULTS, title: 'A' }],
      [
        'given fields override the defaults',
        { title: 'A', status: 'in_progress', points: 10, assignees: ['u1', 'u2'] },
        { ...DEFAULTS, title: 'A', status: 'in_progress', points: 10, assignees: ['u1', 'u2'] },
      ],
      ['a 500-character title', { title: 'x'.repeat(500) }, { ...DEFAULTS, title: 'x'.repeat(500) }],
      ['points 0 and 100000 are in range', { title: 'A', points: 100000 }, { ...DEFAULTS, title: 'A', points: 100000 }],
      [
        '50 assignees',
        { title: 'A', assignees: Array.from({ length: 50 }, (_, i) => `u${i}`) },
        { ...DEFAULTS, title: 'A', assignees: Array.from({ length: 50 }, (_, i) => `u${i}`) },
      ],
      ['nullable fields set to null', { title: 'A', desc: null, due: null, completedAt: null }, { ...DEFAULTS, title: 'A' }],
      ['a 10000-character desc', { title: 'A', desc: 'd'.repeat(10000) }, { ...DEFAULTS, title: 'A', desc: 'd'.repeat(10000) }],
      [
        'ISO dates',
        { title: 'A', due: '2025-12-01T10:00:00+02:00', completedAt: '2025-11-11T14:30:00.123456Z', status: 'done' },
        { ...DEFAULTS, title: 'A', due: '2025-12-01T10:00:00+02:00', completedAt: '2025-11-11T14:30:00.123456Z', status: 'done' },
      ],
    ])('create: %s', (_name, data, expected) => {
      expect(resolver.validate('create', data)).toEqual({ ok: true, data: expected });
    });

    it.each<[string, EntityData]>([
      ['a single field, no defaults added', { status: 'done' }],
      ['an empty patch', {}],
      ['nullable fields cleared', { desc: null, due: null, completedAt: null }],
      ['points 0', { points: 0 }],
      ['an empty assignee list', { assignees: [] }],
      ['a date-only completedAt', { completedAt: '2025-11-11' }],
    ])('update: %s', (_name, data) => {
      expect(resolver.validate('update', data)).toEqual({ ok: true, data });
    });

    it.each<[string, 'create' | 'update', unknown, string]>([
      ['missing title on create', 'create', { status: 'open' }, 'title'],
      ['empty title', 'create', { title: '' }, 'title'],
      ['501-character title', 'create', { title: 'x'.repeat(501) }, 'title'],
      ['empty title in a patch', 'update', { title: '' }, 'title'],
      ['501-character title in a patch', 'update', { title: 'x'.repeat(501) }, 'title'],
      ['null title in a patch', 'update', { title: null }, 'title'],
      ['numeric title', 'create', { title: 5 }, 'title'],
      ['10001-character desc', 'update', { desc: 'd'.repeat(10001) }, 'desc'],
      ['numeric desc', 'update', { desc: 1 }, 'desc'],
      ['status closed', 'update', { status: 'closed' }, 'status'],
      ['status DONE (case matters)', 'update', { status: 'DONE' }, 'status'],
      ['status null', 'update', { status: null }, 'status'],
      ['points -1', 'update', { points: -1 }, 'points'],
      ['points 100001', 'update', { points: 100001 }, 'points'],
      ['points 1.5', 'update', { points: 1.5 }, 'points'],
      ['points as a string', 'update', { points: '5' }, 'points'],
      ['points null', 'update', { points: null }, 'points'],
      ['points -1 on create', 'create', { title: 'A', points: -1 }, 'points'],
      ['51 assignees', 'update', { assignees: Array.from({ length: 51 }, (_, i) => `u${i}`) }, 'assignees'],
      ['assignees not an array', 'update', { assignees: 'u1' }, 'assignees'],
      ['a numeric assignee', 'update', { assignees: ['u1', 2] }, 'assignees'],
      ['an empty assignee id', 'update', { assignees: [''] }, 'assignees'],
      ['a due that is not ISO', 'update', { due: 'tomorrow' }, 'due'],
      ['a basic-format date (no separators)', 'update', { completedAt: '20251111' }, 'completedAt'],
      ['a week date', 'update', { completedAt: '2025-W46-2' }, 'completedAt'],
      ['a date-time without zone (no instant)', 'update', { completedAt: '2025-11-11T14:30:00' }, 'completedAt'],
      ['an impossible calendar date', 'update', { due: '2025-02-30' }, 'due'],
      ['a numeric due', 'update', { due: 1700000000 }, 'due'],
      ['a completedAt that is not ISO', 'update', { completedAt: '11/11/2025' }, 'completedAt'],
      ['an unknown field', 'update', { priority: 'high' }, 'priority'],
      ['an unknown field on create', 'create', { title: 'A', version: 3 }, 'version'],
    ])('refuses %s with a message naming the field', (_name, action, data, field) => {
      const result = resolver.validate(action, data);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.message).toContain(field);
    });

    it.each<[string, unknown]>([
      ['null', null],
      ['an array', [{ title: 'A' }]],
      ['a string', 'A'],
      ['undefined', undefined],
    ])('refuses %s as data', (_name, data) => {
      expect(resolver.validate('create', data)).toEqual({ ok: false, message: 'data must be an object' });
      expect(resolver.validate('update', data)).toEqual({ ok: false, message: 'data must be an object' });
    });
  });
});
