import type { Response } from 'express';

/**
 * A JSON array already serialised (a pull page built by PostgreSQL), standing in for the
 * parsed array in a response: it has the array's `length`, and `toJSON` parses it, so any
 * JSON.stringify of the response still writes the same array. `jsonBody` writes the text
 * itself instead, without parsing and serialising it again.
 */
export class RawJsonArray {
  constructor(
    readonly json: string,
    readonly length: number,
  ) {}

  toJSON(): unknown {
    return JSON.parse(this.json);
  }
}

const PLACEHOLDER = '\u0000raw-json\u0000';
const PLACEHOLDER_JSON = JSON.stringify(PLACEHOLDER);

/**
 * The response's JSON text with every top-level RawJsonArray written as its text. The input
 * guard refuses NUL in client input, so no other value of a response can hold the
 * placeholder; each one is replaced at its first occurrence, in key order.
 */
export function serialiseWithRaw(value: Record<string, unknown>): string | undefined {
  const raws: string[] = [];
  const copy: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v instanceof RawJsonArray) raws.push(v.json);
    copy[key] = v instanceof RawJsonArray ? PLACEHOLDER : v;
  }
  if (raws.length === 0) return undefined;
  let text = JSON.stringify(copy);
  for (const raw of raws) {
    const at = text.indexOf(PLACEHOLDER_JSON);
    text = `${text.slice(0, at)}${raw}${text.slice(at + PLACEHOLDER_JSON.length)}`;
  }
  return text;
}

/**
 * The body a handler returns for a response that may hold a RawJsonArray (POST /sync/delta,
 * with `@Res({ passthrough: true })`): its JSON text, typed application/json, or the value
 * itself for the usual serialisation. A handler-level step rather than a global interceptor:
 * with no interceptor, Nest runs no rxjs pipeline and binds no async resources per request
 * (about 0.1 ms of CPU on every route).
 */
export function jsonBody<T extends object>(res: Response, value: T): T | string {
  const text = serialiseWithRaw(value as Record<string, unknown>);
  if (text === undefined) return value;
  res.type('application/json');
  return text;
}
