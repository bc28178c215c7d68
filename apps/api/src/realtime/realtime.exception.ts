import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception';

export enum RealtimeErrorCode {
  BadDeviceId = 'bad_device_id',
  TooManyStreams = 'too_many_streams',
}

/** Refusals of `GET /sync/stream` before the stream starts (the WebSocket closes with a code instead). */
export class RealtimeException extends DomainException {
  constructor(code: RealtimeErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, code === RealtimeErrorCode.TooManyStreams ? HttpStatus.TOO_MANY_REQUESTS : HttpStatus.BAD_REQUEST, message, details);
  }
}
