import { HttpStatus } from '@nestjs/common';

/**
 * Base of every module's typed exception: a stable machine-readable `code`, the HTTP status
 * it maps to, and a message for humans. `ApiExceptionFilter` turns it into the JSON body.
 */
export abstract class DomainException extends Error {
  protected constructor(
    readonly code: string,
    readonly status: HttpStatus,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
