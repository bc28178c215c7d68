import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception';

export enum SyncErrorCode {
  BatchTooLarge = 'batch_too_large',
  VersionRequired = 'version_required',
  BadWatermark = 'bad_last_sync_at',
  BadClientTimestamp = 'bad_client_timestamp',
}

export class SyncException extends DomainException {
  constructor(code: SyncErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, HttpStatus.BAD_REQUEST, message, details);
  }
}
