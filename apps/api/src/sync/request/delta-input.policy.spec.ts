import { scanInput } from '../../common/input-scan';
import { changeKey } from '../push/change-key';
import { DELTA_INPUT_POLICY, REFUSED_DATA, refusedData } from './delta-input.policy';
import type { SyncChangeInput } from '../dto/delta-request';

const change = (over: Record<string, unknown> = {}) => ({
  entity_type: 'task',
  entity_id: 't1',
  action: 'create',
  data: { title: 'x' },
  client_timestamp: '2025-11-11T12:00:00Z',
  ...over,
});

const owns = (body: unknown) => scanInput(body).map((f) => DELTA_INPUT_POLICY.owns(f));

const neutralised = (body: { changes: Record<string, unknown>[] }) => {
  DELTA_INPUT_POLICY.neutralise(body, scanInput(body));
  return body;
};

describe('DELTA_INPUT_POLICY', () => {
  it.each<[string, unknown, boolean]>([
    ['a value in data', { device_id: 'd', changes: [change({ data: { title: 'a\u0000' } })] }, true],
    ['a key of data', { device_id: 'd', changes: [change({ data: { ['t\u0000']: 1 } })] }, true],
    ['deep data', JSON.parse(`{"changes":[{"data":{"x":${'['.repeat(100)}${']'.repeat(100)}}}]}`), true],
    ['entity_type', { device_id: 'd', changes: [change({ entity_type: 'ta\ud800' })] }, true],
    ['device_id', { device_id: 'd\u0000' }, false],
    ['last_sync_at', { device_id: 'd', last_sync_at: '2025\u0000' }, false],
    ['entity_id', { device_id: 'd', changes: [change({ entity_id: 't\u0000' })] }, false],
    ['change_id', { device_id: 'd', changes: [change({ change_id: '\udc00' })] }, false],
    ['client_timestamp', { device_id: 'd', changes: [change({ client_timestamp: '\u0000' })] }, false],
    ['an unknown key of a change', { device_id: 'd', changes: [{ ...change(), ['x\u0000']: 1 }] }, false],
    ['an entity_type that is not a string', { device_id: 'd', changes: [change({ entity_type: ['\u0000'] })] }, false],
    ['changes as an object', { device_id: 'd', changes: { 0: change({ data: { title: '\u0000' } }) } }, false],
  ])('%s: reported per change = %s', (_name, body, perChange) => {
    expect(owns(body)).toEqual([perChange]);
  });

  it('turns refused data into a validation error naming the field, with a retry key of its own', () => {
    const body = neutralised({ changes: [change({ data: { title: 'a\u0000', list: ['\ud800'] } }), change()] });
    const [refused, fine] = body.changes as unknown as SyncChangeInput[];
    expect(Object.keys(refused.data!)).toEqual([REFUSED_DATA]);
    expect(refusedData(refused)).toEqual({ ok: false, message: expect.stringMatching(/^data\.(title|list\.0) contains /) });
    expect(refusedData(fine)).toBeUndefined();
    expect(fine.data).toEqual({ title: 'x' });
    expect(changeKey('d', refused)).not.toBe(changeKey('d', { ...refused, data: {} }));
  });

  it('makes a deep data walkable by the retry key (no stack overflow)', () => {
    const body = JSON.parse(`{"changes":[{"entity_type":"task","data":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}]}`);
    neutralised(body);
    expect(refusedData(body.changes[0])).toEqual({ ok: false, message: 'data.x.0.0.0.0.0.0.… is nested deeper than 64 levels' });
    expect(changeKey('d', body.changes[0])).toMatch(/^h:/);
  });

  it('escapes a bad entity_type, so it is unknown, storable and says what was sent', () => {
    const body = neutralised({ changes: [change({ entity_type: 'ta\u0000sk' }), change({ entity_type: `${'x'.repeat(63)}\u0000` })] });
    expect(body.changes[0].entity_type).toBe('ta\\u0000sk');
    expect(body.changes[1].entity_type).toBe('x'.repeat(63) + '\\');
    expect(Array.from(body.changes[1].entity_type as string)).toHaveLength(64);
  });

  it('leaves a too-long bad entity_type too long (the envelope check answers 400)', () => {
    const body = neutralised({ changes: [change({ entity_type: `${'x'.repeat(64)}\u0000` })] });
    expect(body.changes[0].entity_type).toBe(`${'x'.repeat(64)}\\u0000`);
  });
});
