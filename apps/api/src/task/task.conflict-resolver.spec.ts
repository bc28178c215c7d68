import {
  clampClientTime,
  Decision,
  EntityData,
  EntityState,
  FieldClocks,
  SyncAction,
  SyncChange,
  SyncChangeErrorCode,
} from '@app/sync-contract';
import { changeOf, clocksAt, liveState, nextOf, t, tombstoneAt } from '@app/testing/resolver-fixtures';
import { TaskConflictResolver } from './task.conflict-resolver';

const NOW = t(1000);
const ctx = { nowUs: NOW };
const SERVER_VERSION = 4;
const COMPLETED = '2025-11-11T14:30:00.000000Z';

const resolver = new TaskConflictResolver();

const change = changeOf('task', 'task-1');

const stateOf = (data: EntityData, fieldClocks: FieldClocks, version = SERVER_VERSION): EntityState =>
  liveState(data, fieldClocks, version);

/** An open task: every field written at t(10), except points at t(20). */
const openTask = () =>
  stateOf(
    { title: 'Server title', desc: null, status: 'open', assignees: ['u1'], due: null, points: 5, completedAt: null },
    { title: t(10), desc: t(10), status: t(10), assignees: t(10), due: t(10), points: t(20), completedAt: t(10) },
  );

/** A done task: every field written at t(10). */
const doneTask = () =>
  stateOf(
    { title: 'Server title', desc: null, status: 'done', assignees: ['u1'], due: null, points: 5, completedAt: COMPLETED },
    { title: t(10), desc: t(10), status: t(10), assignees: t(10), due: t(10), points: t(10), completedAt: t(10) },
  );

const tombstone = () => tombstoneAt(6);

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
