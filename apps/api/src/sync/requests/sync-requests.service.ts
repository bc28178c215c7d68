import { HttpStatus, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '@app/config';
import { microsToIso } from '@app/sync-contract';
import { DomainException } from '../../common/domain.exception';
import { SyncObserver } from '../metrics/sync-observer';
import { SyncSettings, syncSettings } from '../push/batch/prepare-request';
import type { RequestRecord } from '../push/batch/request-record';
import { SyncRegistry } from '../sync-registry.service';
import type { ExplainDto, ExplainQueryDto } from './sync-requests.dto';
import { ReplayAnswer, replayRecord } from './request-replay';
import { RequestSummary, SyncRequestsRepository } from './sync-requests.repository';

export class RequestNotFoundException extends DomainException {
  constructor() {
    super('request_not_found', HttpStatus.NOT_FOUND, 'no such request record in this family (unknown, or purged after SYNC_REPLAY_DAYS)');
  }
}

export class UnknownEntityTypeException extends DomainException {
  constructor(type: string) {
    super('unknown_entity_type', HttpStatus.BAD_REQUEST, `entity_type: unknown entity type "${type}"`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** PROTOCOL 2.11: the push records, their replay, and explain. */
@Injectable()
export class SyncRequestsService {
  private readonly settings: SyncSettings;

  constructor(
    private readonly repo: SyncRequestsRepository,
    private readonly registry: SyncRegistry,
    private readonly observer: SyncObserver,
    config: ConfigService<AppConfig, true>,
  ) {
    this.settings = syncSettings(config.get('sync', { infer: true }), this.registry);
  }

  list(familyId: string, deviceId: string | undefined, limit = 50): Promise<RequestSummary[]> {
    return this.repo.list(familyId, deviceId, limit);
  }

  async record(familyId: string, id: string): Promise<RequestRecord & { at: string }> {
    const record = UUID.test(id) ? await this.repo.get(familyId, id.toLowerCase()) : undefined;
    if (!record) throw new RequestNotFoundException();
    return record;
  }

  async replay(familyId: string, id: string): Promise<ReplayAnswer> {
    const answer = replayRecord(await this.record(familyId, id), familyId, this.settings);
    this.observer.replayed(answer.same);
    return answer;
  }

  /** Whether the device has confirmed the entity's latest state (its last request's cursor for the entity's lane). */
  async explain(familyId: string, q: ExplainQueryDto): Promise<ExplainDto> {
    const resolver = this.registry.find(q.entity_type);
    if (!resolver) throw new UnknownEntityTypeException(q.entity_type);
    const lane = this.registry.laneOf(q.entity_type);
    const { row, device, seen } = await this.repo.explainFacts(familyId, resolver.table, q.entity_type, q.entity_id, q.device_id);
    const entity = row && { version: row.version, position: microsToIso(row.changedUs), deleted: row.deleted, lane };
    const lanes = Object.fromEntries(Object.entries(device?.lanes ?? {}).flatMap(([l, us]) => (us === null ? [] : [[l, microsToIso(us)]])));
    const deviceOut = device && {
      last_sync_at: device.lastSyncUs === null ? null : microsToIso(device.lastSyncUs),
      lanes,
      last_seen: new Date(device.lastSeen).toISOString(),
    };
    const answer = (delivered: boolean, reason: ExplainDto['reason']): ExplainDto => ({ entity, device: deviceOut, delivered, reason });
    if (!row) return answer(false, seen ? 'purged' : 'never_existed');
    if (!device) return answer(false, 'device_never_synced');
    const cursor = device.lanes?.[String(lane)] ?? device.lastSyncUs;
    return cursor !== null && cursor !== undefined && row.changedUs <= cursor
      ? answer(true, 'delivered')
      : answer(false, 'changed_after_last_sync');
  }
}
