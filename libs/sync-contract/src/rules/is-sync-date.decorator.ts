import { applyDecorators } from '@nestjs/common';
import { IsISO8601, Matches } from 'class-validator';

const DATE_OR_DATE_TIME = /^\d{4}-\d{2}-\d{2}([Tt]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?))?$/;

/**
 * A calendar date (`2025-11-11`) or a date-time with a zone (`2025-11-11T14:30:00Z`). Other
 * ISO-8601 forms (week dates, `20251111`, a date-time without zone) are refused: the server
 * compares and clamps these values, and a time without zone has no instant.
 */
export const IsSyncDate = () =>
  applyDecorators(
    Matches(DATE_OR_DATE_TIME, { message: '$property must be a date (YYYY-MM-DD) or a date-time with a zone' }),
    IsISO8601({ strict: true }, { message: '$property must be a valid calendar date' }),
  );
