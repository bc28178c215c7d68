import { BadRequestException } from '@nestjs/common';
import { DeltaRequestValidator } from './delta-request.validator';

const change = (over: Record<string, unknown> = {}) => ({
  entity_type: 'task',
  entity_id: 't1',
  action: 'create',
  data: { title: 'x' },
  client_timestamp: '2025-11-11T12:00:00Z',
  ...over,
});

const messageOf = (body: unknown): string => {
  try {
    new DeltaRequestValidator().transform(body);
  } catch (error) {
    if (error instanceof BadRequestException) return (error.getResponse() as { message: string[] }).message.join('; ');
    throw error;
  }
  return 'valid';
};

describe('DeltaRequestValidator', () => {
  it.each<[string, unknown, string]>([
    ['minimal', { device_id: 'd' }, 'valid'],
    [
      'full',
      {
        device_id: 'd',
        last_sync_at: null,
        atomic: true,
        limit: 5000,
        changes: [change(), change({ action: 'delete', data: undefined, version: 3 })],
      },
      'valid',
    ],
    ['watermark without zone', { device_id: 'd', last_sync_at: '2025-11-11T15:00:00.123456' }, 'valid'],
    ['not an object', [], 'body must be object'],
    ['missing device_id', {}, 'device_id is required'],
    ['empty device_id', { device_id: '' }, 'device_id must NOT have fewer than 1 characters'],
    ['long device_id', { device_id: 'x'.repeat(129) }, 'device_id must NOT have more than 128 characters'],
    ['unknown top-level field', { device_id: 'd', extra: 1 }, 'property extra should not exist'],
    ['garbage watermark', { device_id: 'd', last_sync_at: 'yesterday' }, 'last_sync_at must be an ISO-8601 date-time'],
    ['changes not an array', { device_id: 'd', changes: {} }, 'changes must be array'],
    ['bad action', { device_id: 'd', changes: [change({ action: 'upsert' })] }, 'changes.0.action must be one of create, update, delete'],
    [
      'empty entity_id',
      { device_id: 'd', changes: [change({ entity_id: '' })] },
      'changes.0.entity_id must NOT have fewer than 1 characters',
    ],
    [
      'timestamp without zone',
      { device_id: 'd', changes: [change({ client_timestamp: '2025-11-11T12:00:00' })] },
      'changes.0.client_timestamp must be an ISO-8601 date-time with a zone (Z or ±hh:mm)',
    ],
    ['data not an object', { device_id: 'd', changes: [change({ data: [1] })] }, 'changes.0.data must be object'],
    ['create without data', { device_id: 'd', changes: [change({ data: undefined })] }, 'changes.0.data is required'],
    ['negative version', { device_id: 'd', changes: [change({ version: -1 })] }, 'changes.0.version must be >= 0'],
    ['fractional version', { device_id: 'd', changes: [change({ version: 1.5 })] }, 'changes.0.version must be integer'],
    ['unknown change field', { device_id: 'd', changes: [change({ foo: 1 })] }, 'property changes.0.foo should not exist'],
    ['limit 0', { device_id: 'd', limit: 0 }, 'limit must be >= 1'],
    ['limit 5001', { device_id: 'd', limit: 5001 }, 'limit must be <= 5000'],
    ['lanes not an object', { device_id: 'd', lanes: [] }, 'lanes must be object'],
    ['unknown lane', { device_id: 'd', lanes: { 3: '2025-11-11T15:00:00Z' } }, 'property lanes.3 should not exist'],
    ['garbage lane cursor', { device_id: 'd', lanes: { 1: 'soon' } }, 'lanes.1 must be an ISO-8601 date-time'],
    ['atomic not boolean', { device_id: 'd', atomic: 'yes' }, 'atomic must be boolean'],
  ])('%s', (_, body, expected) => {
    expect(messageOf(body)).toBe(expected);
  });
});
