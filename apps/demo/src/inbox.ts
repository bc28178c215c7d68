import type { Entity, SyncClient } from '@delta-sync/client';
import { h, replaceChildren, time } from './dom';

type Report = (error: unknown) => void;

const show = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'string' ? `“${v}”` : JSON.stringify(v));

/**
 * The family's conflict inbox (README "Conflict inbox"): entries of type `conflict`, newest
 * first. Dismiss deletes the entry; Restore writes the rejected values to the entity at its
 * current version, then dismisses.
 */
export function renderInbox(root: HTMLElement, client: SyncClient, deviceId: string, report: Report): void {
  const entries = client.list('conflict').sort((a, b) => String(b.data.at).localeCompare(String(a.data.at)));
  replaceChildren(
    root,
    h('h2', {}, 'Conflict inbox', h('span', { class: 'count' }, entries.length)),
    entries.length === 0
      ? h('p', { class: 'empty' }, 'No conflicts. Edit a task on two devices while one is offline to see one here.')
      : h('ul', { class: 'conflicts' }, ...entries.map((e) => entry(client, e, deviceId, report))),
  );
}

function entry(client: SyncClient, e: Entity, deviceId: string, report: Report): HTMLElement {
  const d = e.data as {
    entityType: string;
    entityId: string;
    action: string;
    userId: string;
    deviceId: string;
    resolution: string;
    reason?: string;
    rejected?: Record<string, unknown> | null;
    server?: Record<string, unknown> | null;
    at: string;
  };
  const target = client.get(d.entityType, d.entityId);
  const rejected = d.rejected ?? {};
  const fields = Object.keys(rejected);
  const name = target ? String(target.data.title ?? d.entityId) : `${d.entityId} (deleted)`;
  const canRestore = target !== undefined && fields.length > 0;
  // PROTOCOL 2.12: the SDK sends the lost values back and the dismissal's decision together.
  const restore = () => client.restore(e.id);
  // PROTOCOL 2.11: whether the server sees this device holding the entity's latest state.
  const why = async (button: HTMLElement) => {
    const answer = await client.explain(d.entityType, d.entityId);
    const text = answer.delivered ? 'this device has its latest state' : answer.reason.replace(/_/g, ' ');
    button.replaceWith(h('span', { class: 'why-answer' }, `why: ${text}`));
  };
  return h(
    'li',
    { class: `conflict${d.deviceId === deviceId ? ' mine' : ''}`, 'data-conflict-id': e.id, 'data-entity-id': d.entityId },
    h(
      'div',
      { class: 'conflict-head' },
      h('strong', {}, `${d.entityType} ${name}`),
      h('span', { class: 'resolution' }, d.resolution.replace('_', ' ')),
    ),
    h(
      'div',
      { class: 'who' },
      `${d.action} by ${d.userId} on ${d.deviceId}${d.deviceId === deviceId ? ' (this device)' : ''} · ${time(d.at)}`,
    ),
    d.reason && h('div', { class: 'reason' }, d.reason),
    fields.length > 0 &&
      h(
        'table',
        { class: 'fields' },
        h('tr', {}, h('th', {}, 'field'), h('th', {}, 'lost'), h('th', {}, 'kept')),
        ...fields.map((f) =>
          h('tr', { 'data-field': f }, h('td', {}, f), h('td', { class: 'lost' }, show(rejected[f])), h('td', {}, show(d.server?.[f]))),
        ),
      ),
    h(
      'div',
      { class: 'conflict-actions' },
      h(
        'button',
        { class: 'restore', disabled: !canRestore, title: 'Write the lost values back', onclick: () => void restore().catch(report) },
        'Restore',
      ),
      h('button', { class: 'dismiss', onclick: () => void client.dismiss(e.id).catch(report) }, 'Dismiss'),
      h(
        'button',
        {
          class: 'why',
          title: 'Ask the server whether this device has the latest state',
          onclick: (ev: Event) => void why(ev.currentTarget as HTMLElement).catch(report),
        },
        'Why?',
      ),
    ),
  );
}
