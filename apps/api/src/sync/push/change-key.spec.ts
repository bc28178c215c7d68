import { canonicalJson, changeKey } from './change-key';
import type { SyncChangeInput } from '../dto/delta-request';

const DEVICE = 'phone-123';

const base = (): SyncChangeInput => ({
  entity_type: 'task',
  entity_id: 'task-1',
  action: 'update',
  data: { title: 'Updated Task', status: 'done', assignees: ['u1', 'u2'], meta: { a: 1, b: [1, 2] } },
  version: 2,
  client_timestamp: '2025-11-11T14:30:00Z',
});

describe('canonicalJson', () => {
  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['undefined as null', undefined, 'null'],
    ['a string', 'a"b', '"a\\"b"'],
    ['a number', 1.5, '1.5'],
    ['a boolean', false, 'false'],
    ['an empty object', {}, '{}'],
    ['an empty array', [], '[]'],
    ['sorted object keys', { b: 1, a: 2 }, '{"a":2,"b":1}'],
    ['nested objects sorted at every level', { z: { y: 1, x: [{ d: 1, c: 2 }] }, a: null }, '{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}'],
    ['array order kept', [3, 1, 2], '[3,1,2]'],
    ['keys that need escaping', { 'a"b': 1 }, '{"a\\"b":1}'],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });
});

describe('changeKey', () => {
  it.each<[string, Partial<SyncChangeInput>]>([
    ['a plain change', {}],
    ['other data', { data: { title: 'x' } }],
    ['a delete without data', { action: 'delete', data: undefined }],
  ])('change_id wins over the digest: %s', (_name, patch) => {
    expect(changeKey(DEVICE, { ...base(), ...patch, change_id: 'c-42' })).toBe('id:c-42');
    expect(changeKey('other-device', { ...base(), ...patch, change_id: 'c-42' })).toBe('id:c-42');
  });

  it('without change_id is a digest, stable across calls', () => {
    const key = changeKey(DEVICE, base());
    expect(key).toMatch(/^h:[A-Za-z0-9_-]{43}$/);
    expect(changeKey(DEVICE, base())).toBe(key);
  });

  it.each<[string, Record<string, unknown>]>([
    ['top-level keys reversed', { meta: { a: 1, b: [1, 2] }, assignees: ['u1', 'u2'], status: 'done', title: 'Updated Task' }],
    ['nested keys reversed', { title: 'Updated Task', status: 'done', assignees: ['u1', 'u2'], meta: { b: [1, 2], a: 1 } }],
    ['all keys shuffled', { status: 'done', meta: { b: [1, 2], a: 1 }, title: 'Updated Task', assignees: ['u1', 'u2'] }],
  ])('the digest does not depend on the data key order: %s', (_name, data) => {
    expect(changeKey(DEVICE, { ...base(), data })).toBe(changeKey(DEVICE, base()));
  });

  it('the digest does not depend on the key order of the change object itself', () => {
    const b = base();
    const reordered: SyncChangeInput = {
      client_timestamp: b.client_timestamp,
      version: b.version,
      data: b.data,
      action: b.action,
      entity_id: b.entity_id,
      entity_type: b.entity_type,
    };
    expect(changeKey(DEVICE, reordered)).toBe(changeKey(DEVICE, b));
  });

  it.each<[string, string, Partial<SyncChangeInput>]>([
    ['device_id', 'tablet-9', {}],
    ['entity_type', DEVICE, { entity_type: 'event' }],
    ['entity_id', DEVICE, { entity_id: 'task-2' }],
    ['action', DEVICE, { action: 'create' }],
    ['version', DEVICE, { version: 3 }],
    ['version 0 vs absent', DEVICE, { version: undefined }],
    ['client_timestamp', DEVICE, { client_timestamp: '2025-11-11T14:30:01Z' }],
    ['client_timestamp written another way', DEVICE, { client_timestamp: '2025-11-11T14:30:00.000Z' }],
    ['a data value', DEVICE, { data: { ...base().data, title: 'Other' } }],
    ['a nested data value', DEVICE, { data: { ...base().data, meta: { a: 1, b: [2, 1] } } }],
    ['an extra data field', DEVICE, { data: { ...base().data, points: 0 } }],
    ['a missing data field', DEVICE, { data: { title: 'Updated Task', status: 'done', assignees: ['u1', 'u2'] } }],
    ['a data value of another type', DEVICE, { data: { ...base().data, status: ['done'] } }],
    ['data absent', DEVICE, { data: undefined }],
    ['data empty', DEVICE, { data: {} }],
  ])('the digest differs when %s differs', (_name, device, patch) => {
    expect(changeKey(device, { ...base(), ...patch })).not.toBe(changeKey(DEVICE, base()));
  });

  it('version 0 and absent version give different digests', () => {
    expect(changeKey(DEVICE, { ...base(), version: 0 })).not.toBe(changeKey(DEVICE, { ...base(), version: undefined }));
  });

  it('fields cannot bleed into each other (structured, not concatenated)', () => {
    const a = changeKey('dev', { ...base(), entity_type: 'task', entity_id: 'x:y' });
    const b = changeKey('dev', { ...base(), entity_type: 'task:x', entity_id: 'y' });
    expect(a).not.toBe(b);
  });
});
