import { BADGE_RULES, badgeId, earnedBadges, UserTotals } from './badge.rules';

const totals = (t: Partial<UserTotals>): UserTotals => ({ completedTasks: 0, longestStreak: 0, points: 0, ...t });

describe('BADGE_RULES', () => {
  it('lists the seven codes of PROTOCOL 2.3, each once', () => {
    expect(BADGE_RULES.map((b) => b.code)).toEqual([
      'first_task',
      'tasks_10',
      'tasks_100',
      'streak_7',
      'streak_30',
      'points_100',
      'points_1000',
    ]);
  });
});

describe('earnedBadges', () => {
  it.each<[string, Partial<UserTotals>, string[]]>([
    ['nothing yet', {}, []],

    // completed tasks: 1, 9/10, 99/100
    ['0 tasks', { completedTasks: 0 }, []],
    ['1 task: first_task', { completedTasks: 1 }, ['first_task']],
    ['9 tasks', { completedTasks: 9 }, ['first_task']],
    ['10 tasks', { completedTasks: 10 }, ['first_task', 'tasks_10']],
    ['11 tasks', { completedTasks: 11 }, ['first_task', 'tasks_10']],
    ['99 tasks', { completedTasks: 99 }, ['first_task', 'tasks_10']],
    ['100 tasks', { completedTasks: 100 }, ['first_task', 'tasks_10', 'tasks_100']],
    ['5000 tasks', { completedTasks: 5000 }, ['first_task', 'tasks_10', 'tasks_100']],

    // longest streak: 6/7, 29/30 (the streak badges follow the longest run, not the current one)
    ['streak 1', { completedTasks: 1, longestStreak: 1 }, ['first_task']],
    ['streak 6', { completedTasks: 6, longestStreak: 6 }, ['first_task']],
    ['streak 7', { completedTasks: 7, longestStreak: 7 }, ['first_task', 'streak_7']],
    ['streak 29', { completedTasks: 29, longestStreak: 29 }, ['first_task', 'tasks_10', 'streak_7']],
    ['streak 30', { completedTasks: 30, longestStreak: 30 }, ['first_task', 'tasks_10', 'streak_7', 'streak_30']],
    ['streak 365', { completedTasks: 365, longestStreak: 365 }, ['first_task', 'tasks_10', 'tasks_100', 'streak_7', 'streak_30']],

    // points: 99/100, 999/1000, whatever the completions (client-created ledger rows count too)
    ['99 points', { points: 99 }, []],
    ['100 points without a completion', { points: 100 }, ['points_100']],
    ['101 points', { points: 101 }, ['points_100']],
    ['999 points', { points: 999 }, ['points_100']],
    ['1000 points', { points: 1000 }, ['points_100', 'points_1000']],
    ['1000000 points', { points: 1_000_000 }, ['points_100', 'points_1000']],
    ['negative points', { points: -500 }, []],
    ['100 points with a task', { completedTasks: 1, points: 100 }, ['first_task', 'points_100']],

    // everything at once
    [
      'every threshold reached',
      { completedTasks: 100, longestStreak: 30, points: 1000 },
      ['first_task', 'tasks_10', 'tasks_100', 'streak_7', 'streak_30', 'points_100', 'points_1000'],
    ],
    ['every threshold missed by one', { completedTasks: 0, longestStreak: 6, points: 99 }, []],
  ])('%s', (_name, t, expected) => {
    expect(earnedBadges(totals(t))).toEqual(expected);
  });

  it.each<[keyof UserTotals, number, string]>([
    ['completedTasks', 1, 'first_task'],
    ['completedTasks', 10, 'tasks_10'],
    ['completedTasks', 100, 'tasks_100'],
    ['longestStreak', 7, 'streak_7'],
    ['longestStreak', 30, 'streak_30'],
    ['points', 100, 'points_100'],
    ['points', 1000, 'points_1000'],
  ])('%s: %i is the exact threshold of %s', (field, threshold, code) => {
    expect(earnedBadges(totals({ [field]: threshold - 1 }))).not.toContain(code);
    expect(earnedBadges(totals({ [field]: threshold }))).toContain(code);
  });

  it('each badge depends only on its own total', () => {
    expect(earnedBadges(totals({ longestStreak: 30 }))).toEqual(['streak_7', 'streak_30']);
    expect(earnedBadges(totals({ points: 5000 }))).toEqual(['points_100', 'points_1000']);
  });
});

describe('badgeId', () => {
  it.each<[string, string, string]>([
    ['alice', 'first_task', 'alice:first_task'],
    ['user-42', 'points_1000', 'user-42:points_1000'],
    ['a:b', 'streak_7', 'a:b:streak_7'],
  ])('%s + %s = %s', (userId, code, expected) => {
    expect(badgeId(userId, code)).toBe(expected);
  });
});
