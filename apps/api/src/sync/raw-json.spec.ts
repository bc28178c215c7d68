import { RawJsonArray, serialiseWithRaw } from './raw-json';

describe('serialiseWithRaw', () => {
  const raw = new RawJsonArray('[{"entity_id": "a", "data": {"n": 1.5}}]', 1);

  it('writes the raw text in place of the array, and parses to what JSON.stringify would write', () => {
    const body = { server_changes: raw, conflicts: [], last_sync_at: 'x', has_more: false };
    const text = serialiseWithRaw(body)!;
    expect(text).toBe('{"server_changes":[{"entity_id": "a", "data": {"n": 1.5}}],"conflicts":[],"last_sync_at":"x","has_more":false}');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(body)));
  });

  it('leaves responses without raw JSON to the usual serialisation', () => {
    expect(serialiseWithRaw({ a: [1] })).toBeUndefined();
  });

  it('a client value that looks like the placeholder is still written as a string', () => {
    const body = { server_changes: raw, errors: [{ message: 'raw-json' }] };
    expect(JSON.parse(serialiseWithRaw(body)!)).toEqual({
      server_changes: [{ entity_id: 'a', data: { n: 1.5 } }],
      errors: [{ message: 'raw-json' }],
    });
  });

  it('has the length of the array it stands for, and JSON.stringify of it writes the same array', () => {
    expect(raw.length).toBe(1);
    expect(JSON.stringify({ s: raw })).toBe('{"s":[{"entity_id":"a","data":{"n":1.5}}]}');
  });
});
