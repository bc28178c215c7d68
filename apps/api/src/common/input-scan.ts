/**
 * What PostgreSQL cannot store, or recursive code cannot walk, found in parsed input
 * (PROTOCOL 2.6): a NUL character (text and jsonb refuse U+0000), an unpaired UTF-16 surrogate
 * (jsonb refuses its escape; text would store U+FFFD instead of what was sent), and nesting
 * deeper than `MAX_INPUT_DEPTH`. The walk is iterative, so input nested 100,000 levels deep
 * costs 64 steps on that branch and never a stack overflow.
 */
export const MAX_INPUT_DEPTH = 64;

export type InputProblem = 'nul' | 'lone_surrogate' | 'too_deep' | 'proto_key';

/**
 * JSON.parse makes `__proto__` an ordinary own key; stored and pulled, it reaches every device
 * of the family, where a spread or `Object.assign` turns it into a prototype (PROTOCOL 2.13).
 */
const PROTO_KEY = '__proto__';
export type InputPath = readonly (string | number)[];

export interface InputFinding {
  /** Object keys and array indices from the scanned root to the bad value (or key). */
  path: InputPath;
  problem: InputProblem;
  /** The last path element is itself the bad string (an object key), not the value under it. */
  inKey: boolean;
}

// Without the `u` flag a regex sees UTF-16 code units, so lone halves of a pair are visible.
// eslint-disable-next-line no-control-regex -- finding U+0000 is what this pattern is for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export function stringProblem(value: string): InputProblem | undefined {
  const match = UNSTORABLE.exec(value);
  if (!match) return undefined;
  return match[0] === '\u0000' ? 'nul' : 'lone_surrogate';
}

interface Frame {
  value: unknown;
  parent?: Frame;
  key?: string | number;
  /** Containers enclosing this value. */
  depth: number;
}

function pathOf(frame: Frame, last?: string): InputPath {
  const path: (string | number)[] = last === undefined ? [] : [last];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) path.push(f.key!);
  return path.reverse();
}

/** Every problem in `root`: at most one per string or key; nothing below a too-deep container. */
export function scanInput(root: unknown, maxDepth = MAX_INPUT_DEPTH): InputFinding[] {
  const findings: InputFinding[] = [];
  const stack: Frame[] = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value, depth } = frame;
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) findings.push({ path: pathOf(frame), problem, inKey: false });
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= maxDepth) {
      findings.push({ path: pathOf(frame), problem: 'too_deep', inKey: false });
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], parent: frame, key: i, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(value).reverse()) {
      const problem = key === PROTO_KEY ? 'proto_key' : stringProblem(key);
      if (problem) findings.push({ path: pathOf(frame, key), problem, inKey: true });
      else stack.push({ value: (value as Record<string, unknown>)[key], parent: frame, key, depth: depth + 1 });
    }
  }
  return findings;
}

/** A string safe to store and show: NUL and unpaired surrogates written as `\uXXXX`. */
export function escapeUnstorable(value: string): string {
  return value.replace(UNSTORABLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const MAX_SEGMENTS = 8;
const MAX_SEGMENT_LENGTH = 40;

/** `changes.3.data.title`, escaped and shortened so that a message stays small and storable. */
export function printablePath(path: InputPath): string {
  const segments = path.slice(0, MAX_SEGMENTS).map((segment) => {
    const text = escapeUnstorable(String(segment));
    return text.length > MAX_SEGMENT_LENGTH ? `${text.slice(0, MAX_SEGMENT_LENGTH)}…` : text;
  });
  return segments.join('.') + (path.length > MAX_SEGMENTS ? '.…' : '');
}

const WHAT: Record<InputProblem, string> = {
  nul: 'contains a NUL character (U+0000)',
  lone_surrogate: 'contains an unpaired UTF-16 surrogate',
  too_deep: `is nested deeper than ${MAX_INPUT_DEPTH} levels`,
  proto_key: 'is refused (it would set a prototype)',
};

/**
 * "changes.0.entity_id contains a NUL character (U+0000)", or for a key "key "a\u0000b" of
 * changes.0.data contains ..."; `where` prefixes the field (e.g. "query parameter ").
 */
export function describeFinding(finding: InputFinding, where = ''): string {
  const field = (path: InputPath) => (path.length > 0 ? `${where}${printablePath(path)}` : `${where}body`);
  if (!finding.inKey) return `${field(finding.path)} ${WHAT[finding.problem]}`;
  const key = printablePath(finding.path.slice(-1));
  return `key "${key}" of ${field(finding.path.slice(0, -1))} ${WHAT[finding.problem]}`;
}
