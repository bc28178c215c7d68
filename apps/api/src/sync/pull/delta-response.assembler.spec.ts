import { assembleResponse, PulledPage } from './delta-response.assembler';
import type { StoredOutcome } from '../push/batch/batch.types';

const US = 1_762_000_000_000_000;
const page = (over: Partial<PulledPage> = {}): PulledPage => ({
  serverChanges: [],
  lastSyncAtUs: US,
  hasMore: false,
  resync: false,
  ...over,
});
const applied = (id: string): StoredOutcome => ({ applied: { entity_type: 'task', entity_id: id, version: 1 } });
const error = (id: string): StoredOutcome => ({ error: { entity_type: 'task', entity_id: id, code: 'not_found', message: 'x' } });
const conflict = (id: string): StoredOutcome => ({
  conflict: {
    entity_type: 'task',
    entity_id: id,
    conflict_reason: 'r',
    resolution: 'server_wins',
    client_version: 1,
    server_version: 2,
    server_data: null,
    rejected_fields: [],
  },
});

describe('assembleResponse', () => {
  it('answers an empty pull: success, no entries, the watermark in microsecond ISO, keys in wire order', () => {
    const body = assembleResponse(page(), []);
    expect(Object.keys(body)).toEqual([
      'server_changes',
      'conflicts',
      'errors',
      'applied',
      'last_sync_at',
      'has_more',
      'resync_required',
      'success',
      'applied_count',
      'error_count',
      'request_id',
    ]);
    expect(body).toMatchObject({
      server_changes: [],
      last_sync_at: '2025-11-01T12:26:40.000000Z',
      success: true,
      applied_count: 0,
      error_count: 0,
      request_id: null,
    });
  });

  it('lists outcomes in array order; errors carry their change index; success only without conflicts and errors', () => {
    const body = assembleResponse(page(), [applied('a'), error('b'), conflict('c'), applied('d')]);
    expect(body.applied.map((a) => a.entity_id)).toEqual(['a', 'd']);
    expect(body.errors).toEqual([{ index: 1, entity_type: 'task', entity_id: 'b', code: 'not_found', message: 'x' }]);
    expect(body.conflicts.map((c) => c.entity_id)).toEqual(['c']);
    expect(body).toMatchObject({ success: false, applied_count: 2, error_count: 1 });
  });

  it('passes paging and resync through', () => {
    expect(assembleResponse(page({ hasMore: true, resync: true }), [])).toMatchObject({ has_more: true, resync_required: true });
  });
});
