/**
 * The few platform features the client uses, typed structurally so the package needs
 * neither the DOM nor the Node type definitions: fetch, WebSocket, CompressionStream,
 * TextEncoder and timers exist in browsers and in Node >= 20 (WebSocket from Node 22, or
 * passed in as an option).
 */

export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: unknown;
}

export type FetchLike = (url: string, init: FetchInit) => Promise<ResponseLike>;

/** The part of the WHATWG WebSocket the live connection uses. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

interface StreamReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
}
interface StreamWriter {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
interface CompressionStreamLike {
  readonly readable: { getReader(): StreamReader };
  readonly writable: { getWriter(): StreamWriter };
}

type TimerId = unknown;

interface PlatformGlobals {
  fetch?: FetchLike;
  WebSocket?: WebSocketConstructor;
  CompressionStream?: new (format: 'gzip') => CompressionStreamLike;
  TextEncoder: new () => { encode(s: string): Uint8Array };
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
  setInterval(fn: () => void, ms: number): TimerId;
  clearInterval(id: TimerId): void;
  crypto?: { randomUUID?: () => string };
  /** The browser's window (`online` events); absent in Node. */
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
}

export const platform = globalThis as unknown as PlatformGlobals;

export function defaultFetch(): FetchLike | undefined {
  return platform.fetch ? (url, init) => platform.fetch!(url, init) : undefined;
}

export const utf8 = (s: string): Uint8Array => new platform.TextEncoder().encode(s);

export const canGzip = (): boolean => typeof platform.CompressionStream === 'function';

/** Gzip through the platform's CompressionStream (browsers, Node >= 18). */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new platform.CompressionStream!('gzip');
  const writer = stream.writable.getWriter();
  // Not awaited before reading: the writer waits for the reader under backpressure.
  const written = writer.write(bytes).then(() => writer.close());
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value) chunks.push(value);
  }
  await written;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => platform.setTimeout(resolve, ms));

/** A random id: crypto.randomUUID where present, else time + Math.random. */
export function newId(): string {
  const uuid = platform.crypto?.randomUUID;
  if (uuid) return uuid.call(platform.crypto);
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}
