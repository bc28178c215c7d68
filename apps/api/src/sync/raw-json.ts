import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { map, Observable } from 'rxjs';

/**
 * A JSON array already serialised (a pull page built by PostgreSQL), standing in for the
 * parsed array in a response: it has the array's `length`, and `toJSON` parses it, so any
 * JSON.stringify of the response still writes the same array. RawJsonInterceptor writes
 * the text itself instead, without parsing and serialising it again.
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

/** Writes responses that hold a RawJsonArray (POST /sync/delta) as JSON text; others pass untouched. */
@Injectable()
export class RawJsonInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((value: unknown) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
        const text = serialiseWithRaw(value as Record<string, unknown>);
        if (text === undefined) return value;
        context.switchToHttp().getResponse<Response>().type('application/json');
        return text;
      }),
    );
  }
}
