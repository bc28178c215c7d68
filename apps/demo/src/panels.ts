import type { StatusEvent, SyncClient } from '@delta-sync/client';
import { h, replaceChildren, time } from './dom';
import { MEMBERS } from './session';

export interface DeviceState {
  deviceId: string;
  member: string;
  online: boolean;
  status: StatusEvent | null;
  /** Local time of the last round that ended well. */
  lastSuccess: number | null;
  error: string | null;
}

const BADGES: Record<string, string> = {
  first_task: 'First task',
  tasks_10: '10 tasks',
  tasks_100: '100 tasks',
  streak_7: '7-day streak',
  streak_30: '30-day streak',
  points_100: '100 points',
  points_1000: '1000 points',
};

function syncLabel(s: DeviceState): string {
  if (!s.online) return 'Offline';
  switch (s.status?.state) {
    case 'syncing':
      return 'Syncing…';
    case 'waiting':
      return 'Retrying…';
    case 'offline':
      return 'Sync failed';
    case 'blocked':
      return 'Storage full';
    default:
      return !s.status ? 'Starting…' : s.lastSuccess === null ? 'Not synced yet' : 'Synced';
  }
}

/** The device panel: online switch, sync state, realtime state, outbox and last sync time. */
export function renderDevice(root: HTMLElement, s: DeviceState, setOnline: (on: boolean) => void): void {
  const label = syncLabel(s);
  replaceChildren(
    root,
    h('h2', {}, 'This device'),
    h('div', { class: 'device-id' }, `${s.member} · ${s.deviceId}`),
    h(
      'label',
      { class: 'switch' },
      h('input', {
        type: 'checkbox',
        role: 'switch',
        id: 'online-switch',
        checked: s.online,
        onchange: (ev) => setOnline((ev.target as HTMLInputElement).checked),
      }),
      h('span', {}, s.online ? 'Online' : 'Offline'),
    ),
    h(
      'dl',
      {},
      h('dt', {}, 'Sync'),
      h('dd', { id: 'sync-state', class: `state-${label.replace(/\W+/g, '-').toLowerCase()}` }, label),
      h('dt', {}, 'Realtime'),
      h('dd', { id: 'live-state' }, s.online ? (s.status?.live ?? 'off') : 'off'),
      h('dt', {}, 'Not synced'),
      h('dd', { id: 'pending' }, `${s.status?.pending ?? 0} change(s)`),
      h('dt', {}, 'Last sync'),
      h('dd', { id: 'last-sync' }, time(s.lastSuccess)),
    ),
    s.error && h('p', { id: 'sync-error', class: 'error', role: 'alert' }, s.error),
  );
}

/** Points (the ledger), streaks and badges, all computed by the server and synced like any entity. */
export function renderFamily(root: HTMLElement, client: SyncClient): void {
  const points = new Map<string, number>();
  for (const row of client.list('points_ledger')) {
    const user = String(row.data.userId);
    points.set(user, (points.get(user) ?? 0) + Number(row.data.delta ?? 0));
  }
  const badges = client.list('badge');
  const total = [...points.values()].reduce((a, b) => a + b, 0);
  const users = [...new Set([...MEMBERS, ...points.keys()])];
  replaceChildren(
    root,
    h('h2', {}, 'Family', h('span', { class: 'count', id: 'family-points' }, `${total} pts`)),
    h(
      'ul',
      { class: 'members' },
      ...users.map((u) => {
        const streak = client.get('user_streak', u)?.data;
        const mine = badges.filter((b) => b.data.userId === u);
        return h(
          'li',
          { 'data-member': u },
          h('span', { class: 'name' }, u),
          h('span', { class: 'member-points' }, `${points.get(u) ?? 0} pts`),
          streak && h('span', { class: 'streak', title: 'current streak (days)' }, `${Number(streak.currentStreak ?? 0)}-day streak`),
          h(
            'span',
            { class: 'badges' },
            ...mine.map((b) =>
              h('span', { class: 'badge', title: String(b.data.code) }, '★ ', BADGES[String(b.data.code)] ?? String(b.data.code)),
            ),
          ),
        );
      }),
    ),
  );
}
