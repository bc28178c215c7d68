import { Client } from 'pg';

/** One statement a pg client of this process sent, with its parameters. */
export interface CapturedQuery {
  text: string;
  values?: unknown[];
}

/** Runs `fn` while recording the SQL every pg client of this process sends (the app under test runs in it). */
export async function captureQueries(fn: () => Promise<void>): Promise<CapturedQuery[]> {
  const captured: CapturedQuery[] = [];
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: Client, ...args: unknown[]) {
    const [config, values] = args;
    if (typeof config === 'string') captured.push({ text: config, values: Array.isArray(values) ? values : undefined });
    else if (config && typeof (config as CapturedQuery).text === 'string')
      captured.push({
        text: (config as CapturedQuery).text,
        values: (config as CapturedQuery).values ?? (Array.isArray(values) ? values : undefined),
      });
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return captured;
}
