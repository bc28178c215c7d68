import { Client } from 'pg';
import { HttpClient } from './http';
import { round, Summary, summarize } from './stats';

/**
 * Where the service's database connections spend a load run: pg_stat_activity of the
 * service's pool (application_name 'delta-sync') sampled every `everyMs`. Average number of
 * connections per state:
 * - `idle in transaction`: the transaction waits for the service (Node busy or queued);
 * - `active: Lock/...`: waiting on a row lock (the family lock of a concurrent request);
 * - `active: IO/WALSync`, `LWLock/WALWrite`: commit flushing the WAL;
 * - `active: running`: PostgreSQL executing a statement;
 * - `idle`: in the pool, unused.
 */
export interface ActivityProfile {
  samples: number;
  poolConnectionsSeen: number;
  /** Average connections in each state. */
  average: Record<string, number>;
  /** Share of samples where no pool connection was idle (requests may queue for one in Node). */
  poolSaturated: number;
}

export function sampleActivity(db: Client, everyMs = 100): { stop(): Promise<ActivityProfile> } {
  const totals = new Map<string, number>();
  let samples = 0;
  let saturated = 0;
  let maxSeen = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const { rows } = await db.query<{ state: string | null; wait_event_type: string | null; wait_event: string | null }>(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'delta-sync' AND pid <> pg_backend_pid()`,
      );
      samples++;
      maxSeen = Math.max(maxSeen, rows.length);
      if (!rows.some((r) => r.state === 'idle')) saturated++;
      for (const r of rows) {
        const key =
          r.state === 'active'
            ? r.wait_event_type && r.wait_event_type !== 'Client'
              ? `active: ${r.wait_event_type}/${r.wait_event}`
              : 'active: running'
            : (r.state ?? 'unknown');
        totals.set(key, (totals.get(key) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (performance.now() - started))));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      const average = Object.fromEntries([...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / Math.max(1, samples))]));
      return { samples, poolConnectionsSeen: maxSeen, average, poolSaturated: round(saturated / Math.max(1, samples)) };
    },
  };
}

/**
 * The service's responsiveness under load: GET /health/live (no database) every `everyMs`
 * on its own connection. Its latency is mostly the time the request waits for the
 * service's event loop.
 */
export function probeLiveness(baseUrl: string, everyMs = 100): { stop(): Promise<Summary> } {
  const client = new HttpClient(baseUrl, 1);
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const res = await client.request('GET', '/health/live').catch(() => undefined);
      if (res) latencies.push(res.ms);
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (performance.now() - started))));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      client.close();
      return summarize(latencies);
    },
  };
}

/** Group commits so far (the service's sync_group_requests histogram): groups and the pushes they carried. */
export async function groupCommits(baseUrl: string): Promise<{ groups: number; requests: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? 0);
  return { groups: value('sync_group_requests_count'), requests: value('sync_group_requests_sum') };
}
