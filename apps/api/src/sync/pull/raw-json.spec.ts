import type { Response } from 'express';
import { jsonBody, RawJsonArray, serialiseWithRaw } from './raw-json';

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

describe('jsonBody', () => {
  const response = () => {
    const types: string[] = [];
    return { res: { type: (t: string) => void types.push(t) } as unknown as Response, types };
  };

  it('returns the JSON text of a response holding raw JSON, typed application/json', () => {
    const { res, types } = response();
    expect(jsonBody(res, { server_changes: new RawJsonArray('[1]', 1), has_more: false })).toBe('{"server_changes":[1],"has_more":false}');
    expect(types).toEqual(['application/json']);
  });

  it('returns any other value as it is, for the usual serialisation', () => {
    const { res, types } = response();
    const value = { a: [1] };
    expect(jsonBody(res, value)).toBe(value);
    expect(types).toEqual([]);
  });
});
