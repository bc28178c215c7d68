import { Emitter } from './emitter.js';
import { LocalStore } from './local-store.js';
import { ChangeStatus, SyncClientEvents } from './types.js';

const FINAL: ReadonlySet<ChangeStatus['status']> = new Set(['applied', 'conflict', 'error']);

/**
 * Resolves with the change's status once it is final. Every page that answers changes (and
 * every other tab's write this tab takes in) ends with a `status` event, so that is when to look.
 */
export function awaitOutcome(local: LocalStore, events: Emitter<SyncClientEvents>, changeId: string | null): Promise<ChangeStatus | null> {
  if (changeId === null) return Promise.resolve(null);
  return new Promise((resolve) => {
    const check = (): void => {
      const st = local.statuses.get(changeId);
      if (!st || !FINAL.has(st.status)) return;
      off();
      resolve({ ...st });
    };
    const off = events.on('status', check);
    check();
  });
}
