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
  const restore = async () => {
    await client.update(d.entityType, d.entityId, rejected);
    await client.delete('conflict', e.id);
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
      h('button', { class: 'dismiss', onclick: () => void client.delete('conflict', e.id).catch(report) }, 'Dismiss'),
    ),
  );
}
