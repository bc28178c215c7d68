import { describeFinding, escapeUnstorable, MAX_INPUT_DEPTH, printablePath, scanInput, stringProblem } from './input-scan';

const nested = (levels: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

describe('stringProblem', () => {
  it.each<[string, string, string | undefined]>([
    ['plain', 'hello', undefined],
    ['empty', '', undefined],
    ['NUL', 'a\u0000b', 'nul'],
    ['NUL alone', '\u0000', 'nul'],
    ['lone high surrogate', 'a\ud800', 'lone_surrogate'],
    ['lone high surrogate before a letter', '\ud800x', 'lone_surrogate'],
    ['lone low surrogate', '\udc00', 'lone_surrogate'],
    ['reversed pair', '\udc00\ud800', 'lone_surrogate'],
    ['paired surrogates (emoji)', 'ok 😀 \ud83d\ude00', undefined],
    ['other control characters', '\u0001\u0007\u001f\u007f\n\t', undefined],
    ['U+FFFF and U+FFFE', '\uffff\ufffe', undefined],
    ['NFD é', 'e\u0301', undefined],
  ])('%s', (_name, value, expected) => {
    expect(stringProblem(value)).toBe(expected);
  });
});

describe('scanInput', () => {
  it('finds nothing in ordinary JSON', () => {
    expect(scanInput({ a: [1, 'x', null, true, { b: 'é😀' }], __proto__x: 1 })).toEqual([]);
  });

  it('refuses a __proto__ key at any depth, as JSON.parse makes it (an own key)', () => {
    const body = JSON.parse('{"__proto__":{"x":1},"changes":[{"data":{"title":"p","tags":[{"__proto__":{"y":2}}]}}]}');
    expect(scanInput(body)).toEqual([
      { path: ['__proto__'], problem: 'proto_key', inKey: true },
      { path: ['changes', 0, 'data', 'tags', 0, '__proto__'], problem: 'proto_key', inKey: true },
    ]);
    expect(describeFinding(scanInput(body)[1])).toBe('key "__proto__" of changes.0.data.tags.0 is refused (it would set a prototype)');
    expect(scanInput(JSON.parse('{"constructor":{"prototype":{"x":1}}}'))).toEqual([]);
  });

  it('names the path of a bad value and of a bad key', () => {
    const body = { changes: [{ entity_id: 'ok' }, { entity_id: 'a\u0000', data: { ['t\ud800']: 1, list: ['x', '\udfff'] } }] };
    expect(scanInput(body)).toEqual([
      { path: ['changes', 1, 'entity_id'], problem: 'nul', inKey: false },
      { path: ['changes', 1, 'data', 't\ud800'], problem: 'lone_surrogate', inKey: true },
      { path: ['changes', 1, 'data', 'list', 1], problem: 'lone_surrogate', inKey: false },
    ]);
  });

  it('accepts exactly 64 levels and refuses 65 (the body itself is level 1)', () => {
    expect(scanInput(nested(MAX_INPUT_DEPTH))).toEqual([]);
    const [finding, ...rest] = scanInput(nested(MAX_INPUT_DEPTH + 1));
    expect(rest).toEqual([]);
    expect(finding.problem).toBe('too_deep');
    expect(finding.path).toHaveLength(MAX_INPUT_DEPTH);
  });

  it('walks 100,000 levels without recursion and stops at the limit', () => {
    const deep = JSON.parse('{"data":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}');
    expect(scanInput(deep)).toEqual([{ path: ['data', ...Array(MAX_INPUT_DEPTH - 1).fill(0)], problem: 'too_deep', inKey: false }]);
  });

  it('refuses the __proto__ key itself (not walked further) and reads constructor as a plain key', () => {
    const body = JSON.parse('{"__proto__": {"x": "\\u0000"}, "constructor": {"prototype": "\\ud800"}}');
    expect(scanInput(body).map((f) => [f.path, f.problem])).toEqual([
      [['__proto__'], 'proto_key'],
      [['constructor', 'prototype'], 'lone_surrogate'],
    ]);
  });

  it('scans a wide body in one pass (one finding per bad string)', () => {
    const wide = Array.from({ length: 10_000 }, (_, i) => (i % 1000 === 0 ? `bad\u0000${i}` : `ok${i}`));
    expect(scanInput({ wide }).map((f) => f.path[1])).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
  });
});

describe('messages', () => {
  it('escape what they name, so that a message is itself storable', () => {
    expect(escapeUnstorable('a\u0000b\ud800c😀')).toBe('a\\u0000b\\ud800c😀');
    expect(printablePath(['changes', 0, 'data', 'k\u0000'])).toBe('changes.0.data.k\\u0000');
    expect(describeFinding({ path: ['changes', 0, 'entity_id'], problem: 'nul', inKey: false })).toBe(
      'changes.0.entity_id contains a NUL character (U+0000)',
    );
    expect(describeFinding({ path: ['data', 'ti\ud800'], problem: 'lone_surrogate', inKey: true })).toBe(
      'key "ti\\ud800" of data contains an unpaired UTF-16 surrogate',
    );
    expect(describeFinding({ path: ['userId'], problem: 'nul', inKey: false }, 'path parameter ')).toBe(
      'path parameter userId contains a NUL character (U+0000)',
    );
  });

  it('stay short for deep paths and long keys', () => {
    const message = describeFinding({ path: ['data', ...Array(63).fill(0)], problem: 'too_deep', inKey: false });
    expect(message).toBe('data.0.0.0.0.0.0.0.… is nested deeper than 64 levels');
    expect(printablePath(['x'.repeat(10_000)])).toHaveLength(41);
  });
});
