import { applyDecorators, HttpStatus } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';

/** The one error body of every 4xx and 5xx (ApiExceptionFilter), as OpenAPI shows it. */
export class ErrorBodyDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ description: 'Stable machine-readable code', example: 'bad_request' })
  error: string;

  @ApiProperty({ example: 'changes.0.entity_id must be a non-empty string' })
  message: string;

  @ApiPropertyOptional({
    description: 'More about the failure (e.g. every validation message)',
    type: 'object',
    additionalProperties: true,
  })
  details?: unknown;

  @ApiProperty({ description: 'The request id (X-Request-Id), also in the logs', example: '6c1f0a52-8f43-4a8e-9a57-0d7f1f4c3b6e' })
  requestId: string;
}

const DESCRIPTIONS: Partial<Record<HttpStatus, string>> = {
  [HttpStatus.BAD_REQUEST]: 'Malformed request: the message names the field',
  [HttpStatus.UNAUTHORIZED]: 'No, bad or expired bearer token',
  [HttpStatus.FORBIDDEN]: 'Not a member of the family (or not allowed in it)',
  [HttpStatus.NOT_FOUND]: 'No such resource',
  [HttpStatus.CONFLICT]: 'The change conflicts with the current state (the message says why)',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'Body larger than SYNC_MAX_BODY (after gzip inflation)',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'Content-Encoding other than gzip, deflate or identity',
  [HttpStatus.TOO_MANY_REQUESTS]: 'Above SYNC_RATE_LIMIT requests per user and minute; wait Retry-After seconds',
  [HttpStatus.SERVICE_UNAVAILABLE]:
    'The database is unavailable or timed out (database_unavailable, database_timeout): resend the same body after Retry-After seconds',
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before resending', schema: { type: 'integer', minimum: 1 } } };

/** Documents the error answers an operation can give, each with the one error body. */
export function ApiErrors(...statuses: HttpStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? HttpStatus[status],
        type: ErrorBodyDto,
        ...(status === HttpStatus.TOO_MANY_REQUESTS || status === HttpStatus.SERVICE_UNAVAILABLE ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
}

/**
 * The only 4xx an unauthenticated operation (health, metrics) gives: the input guard refuses a
 * query string the database could not store (PROTOCOL 2.6), as on every route.
 */
export const ApiRefusedQuery = () =>
  ApiResponse({
    status: HttpStatus.BAD_REQUEST,
    description: 'A query parameter holds a NUL, an unpaired surrogate or nesting deeper than 64 levels (PROTOCOL 2.6)',
    type: ErrorBodyDto,
  });

/** What every authenticated operation can answer besides its own errors. */
export const AUTHENTICATED_ERRORS = [HttpStatus.UNAUTHORIZED, HttpStatus.SERVICE_UNAVAILABLE] as const;
