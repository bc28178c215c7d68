/** Where the client reports what an app may want to see: a console, or the app's own logger. */
export interface SyncLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type Log = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/**
 * A log function at `level` and above. Default: the platform's console (warnings and
 * errors only), so a listener that throws or a refused change is never silent; `null`
 * silences the client. A throwing logger is ignored.
 */
export function clientLog(logger: SyncLogger | null | undefined, level: LogLevel = 'warn'): Log {
  const sink = logger === undefined ? (globalThis as unknown as { console?: SyncLogger }).console : logger;
  return (at, message, fields) => {
    if (!sink || RANK[at] < RANK[level]) return;
    try {
      sink[at]?.(`delta-sync: ${message}`, fields);
    } catch {
      // The logger's own failure has nowhere better to go.
    }
  };
}
