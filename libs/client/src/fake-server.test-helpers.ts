import { FetchLike } from './platform.js';
import { DeltaRequest, DeltaResponse, OutgoingChange, ServerChange } from './types.js';

/** The server's answer to a push applied as sent (each change one version up), with this page of server changes. */
export function deltaAnswer(changes: readonly OutgoingChange[], page: ServerChange[], n: number, hasMore = false): DeltaResponse {
  return {
    server_changes: page,
    conflicts: [],
    errors: [],
    applied: changes.map((c) => ({ entity_type: c.entity_type, entity_id: c.entity_id, version: (c.version ?? 0) + 1 })),
    last_sync_at: `2025-01-01T00:00:${String(n % 60).padStart(2, '0')}.000000Z`,
    has_more: hasMore,
    resync_required: false,
    success: true,
    applied_count: changes.length,
    error_count: 0,
    request_id: null,
  };
}

/** A fetch that answers each request with the next queued page (has_more while pages remain). */
export function pagedServer(pages: ServerChange[][] = []): { pages: ServerChange[][]; fetch: FetchLike } {
  let n = 0;
  const fetch: FetchLike = async (_url, init) => {
    const req = JSON.parse(init.body as string) as DeltaRequest & { changes: OutgoingChange[] };
    n += 1;
    const body = deltaAnswer(req.changes, pages.shift() ?? [], n, pages.length > 0);
    return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify(body) };
  };
  return { pages, fetch };
}

/** A task as the server sends it (the create defaults filled in). */
export const serverTask = (id: string, data: Record<string, unknown>, version = 1): ServerChange => ({
  entity_type: 'task',
  entity_id: id,
  action: 'create',
  data: { title: id, desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null, ...data },
  version,
  client_timestamp: '2025-01-01T00:00:00Z',
  server_timestamp: '2025-01-01T00:00:00Z',
});
