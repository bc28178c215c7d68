import type { Entity, SyncClient } from '@delta-sync/client';
import { h, replaceChildren } from './dom';
import { MEMBERS } from './session';

const COLUMNS = [
  { status: 'open', label: 'To do' },
  { status: 'in_progress', label: 'Doing' },
  { status: 'done', label: 'Done' },
] as const;

type Report = (error: unknown) => void;

/** The new-task form and the three columns of task cards. */
export function renderBoard(root: HTMLElement, client: SyncClient, report: Report): void {
  // A re-render must not take the text out from under someone typing a title.
  const focused =
    document.activeElement instanceof HTMLInputElement && root.contains(document.activeElement) ? document.activeElement : null;
  const keep = focused && { id: focused.dataset.keep, value: focused.value, at: focused.selectionStart };

  const tasks = client.list('task').sort((a, b) => String(a.data.createdAt ?? a.id).localeCompare(String(b.data.createdAt ?? b.id)));
  replaceChildren(
    root,
    newTaskForm(client, report),
    h(
      'div',
      { class: 'columns' },
      ...COLUMNS.map(({ status, label }) => {
        const inColumn = tasks.filter((t) => (t.data.status ?? 'open') === status);
        return h(
          'section',
          { class: `column column-${status}`, 'data-column': status },
          h('h2', {}, label, h('span', { class: 'count' }, inColumn.length)),
          ...inColumn.map((t) => card(client, t, report)),
        );
      }),
    ),
  );

  if (keep?.id) {
    const input = root.querySelector<HTMLInputElement>(`input[data-keep="${CSS.escape(keep.id)}"]`);
    if (input) {
      input.value = keep.value;
      input.focus();
      if (keep.at !== null) input.setSelectionRange(keep.at, keep.at);
    }
  }
}

function newTaskForm(client: SyncClient, report: Report): HTMLElement {
  const title = h('input', {
    name: 'title',
    placeholder: 'New task…',
    required: true,
    maxlength: 200,
    'data-keep': 'new-title',
    'aria-label': 'New task title',
  });
  const points = h('input', {
    name: 'points',
    type: 'number',
    min: 0,
    max: 1000,
    value: 10,
    'aria-label': 'Points',
    'data-keep': 'new-points',
  });
  const assignees = MEMBERS.map((m) => h('input', { type: 'checkbox', name: 'assignee', value: m }));
  const form = h(
    'form',
    {
      class: 'new-task',
      onsubmit: (ev) => {
        ev.preventDefault();
        const text = title.value.trim();
        if (!text) return;
        const id = `task-${crypto.randomUUID().slice(0, 8)}`;
        const data = {
          title: text,
          points: Number(points.value) || 0,
          assignees: assignees.filter((a) => a.checked).map((a) => a.value),
          status: 'open',
        };
        title.value = '';
        client.create('task', id, data).catch(report);
      },
    },
    title,
    points,
    h('span', { class: 'assign' }, ...MEMBERS.map((m, i) => h('label', {}, assignees[i], m))),
    h('button', { type: 'submit' }, 'Add task'),
  );
  return form;
}

function card(client: SyncClient, task: Entity, report: Report): HTMLElement {
  const d = task.data;
  const status = String(d.status ?? 'open');
  const assignees = Array.isArray(d.assignees) ? (d.assignees as string[]) : [];
  const update = (patch: Record<string, unknown>) => client.update('task', task.id, patch).catch(report);
  const title = h('input', {
    class: 'title',
    value: String(d.title ?? ''),
    'aria-label': 'Title',
    'data-keep': `title-${task.id}`,
    onkeydown: (ev) => (ev as KeyboardEvent).key === 'Enter' && (ev.target as HTMLInputElement).blur(),
    onchange: (ev) => {
      const value = (ev.target as HTMLInputElement).value.trim();
      if (value && value !== d.title) void update({ title: value });
    },
  });
  return h(
    'article',
    {
      class: `card status-${status}${task.pending ? ' pending' : ''}`,
      'data-task-id': task.id,
      'data-status': status,
      'data-title': String(d.title ?? ''),
    },
    h(
      'div',
      { class: 'card-top' },
      title,
      h(
        'button',
        {
          class: 'delete',
          title: 'Delete task',
          'aria-label': 'Delete task',
          onclick: () => void client.delete('task', task.id).catch(report),
        },
        '×',
      ),
    ),
    h(
      'div',
      { class: 'card-meta' },
      h('span', { class: 'points' }, `★ ${Number(d.points ?? 0)} pts`),
      ...MEMBERS.map((m) =>
        h(
          'button',
          {
            class: `chip${assignees.includes(m) ? ' on' : ''}`,
            title: assignees.includes(m) ? `Unassign ${m}` : `Assign ${m}`,
            onclick: () => void update({ assignees: assignees.includes(m) ? assignees.filter((a) => a !== m) : [...assignees, m] }),
          },
          m,
        ),
      ),
    ),
    h(
      'div',
      { class: 'card-actions' },
      status === 'open' && h('button', { class: 'start', onclick: () => void update({ status: 'in_progress' }) }, 'Start'),
      status !== 'done' &&
        h('button', { class: 'complete', onclick: () => void update({ status: 'done', completedAt: new Date().toISOString() }) }, '✓ Done'),
      status === 'done' && h('button', { class: 'reopen', onclick: () => void update({ status: 'open', completedAt: null }) }, 'Reopen'),
      task.pending && h('span', { class: 'unsynced', title: 'Waiting in the outbox' }, 'not synced yet'),
      h('span', { class: 'version' }, `v${task.version}`),
    ),
  );
}
