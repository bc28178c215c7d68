import { OutgoingChange } from './types.js';

// A NUL or an unpaired UTF-16 surrogate: the server refuses the whole request (PROTOCOL 2.6).
// eslint-disable-next-line no-control-regex -- finding U+0000 is what this pattern is for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses, before it enters the outbox, a change the server would answer with a 400 for
 * the whole request: such a change would block every later sync of the device.
 * Problems inside `data` are per-change errors on the server and are left to it.
 */
export function checkChange(c: OutgoingChange): void {
  if (typeof c.entity_type !== 'string' || c.entity_type.length === 0) throw new TypeError('entity_type must be a non-empty string');
  if (typeof c.entity_id !== 'string' || c.entity_id.length < 1 || c.entity_id.length > 128) {
    throw new TypeError('entity_id must be a string of 1..128 characters');
  }
  if (UNSTORABLE.test(c.entity_id)) throw new TypeError('entity_id holds a NUL character or an unpaired surrogate');
  if (c.action !== 'delete' && (typeof c.data !== 'object' || c.data === null || Array.isArray(c.data))) {
    throw new TypeError('data must be an object');
  }
}
