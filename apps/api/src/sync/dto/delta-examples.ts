/** The usage examples of the original API document, as OpenAPI request examples. */
export const DELTA_REQUEST_EXAMPLES: Record<string, { summary: string; value: unknown }> = {
  simpleSync: {
    summary: 'Example 1: simple sync, three new tasks',
    value: {
      last_sync_at: '2025-11-10T00:00:00Z',
      device_id: 'phone-123',
      changes: [1, 2, 3].map((n) => ({
        entity_type: 'task',
        entity_id: `task-${n}`,
        action: 'create',
        data: { title: `Task ${n}`, status: 'open' },
        version: 1,
        client_timestamp: '2025-11-11T12:00:00Z',
      })),
    },
  },
  versionMismatch: {
    summary: 'Example 2: update with a stale version (server at 4)',
    value: {
      last_sync_at: '2025-11-10T00:00:00Z',
      device_id: 'phone-123',
      changes: [
        {
          entity_type: 'task',
          entity_id: 'task-1',
          action: 'update',
          data: { title: 'New Title' },
          version: 2,
          client_timestamp: '2025-11-11T12:00:00Z',
        },
      ],
    },
  },
  doneWins: {
    summary: 'Example 3: done wins on a stale version',
    value: {
      last_sync_at: '2025-11-10T00:00:00Z',
      device_id: 'phone-123',
      changes: [
        {
          entity_type: 'task',
          entity_id: 'task-1',
          action: 'update',
          data: { status: 'done', completedAt: '2025-11-11T14:30:00Z' },
          version: 2,
          client_timestamp: '2025-11-11T14:30:00Z',
        },
      ],
    },
  },
};
