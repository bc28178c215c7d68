import { ArrayMaxSize, IsArray, IsOptional, IsString, Length, MaxLength, ValidateIf } from 'class-validator';
import { IsSyncDate } from '@app/sync-contract';

/**
 * The fields a create and a patch validate alike. `title` and `start` are declared by each
 * subclass: a `@ValidateIf` on an inherited property would also skip the subclass's own
 * validators, so a create without them would pass.
 */
abstract class EventFieldsDto {
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;

  @IsOptional()
  @IsSyncDate()
  end?: string | null;

  @ValidateIf((o) => o.attendees !== undefined)
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @Length(1, 128, { each: true })
  attendees?: string[];
}

/** `data` of an event update: a partial patch. */
export class PatchEventDto extends EventFieldsDto {
  @ValidateIf((o) => o.title !== undefined)
  @IsString()
  @Length(1, 500)
  title?: string;

  @ValidateIf((o) => o.start !== undefined)
  @IsSyncDate()
  start?: string;
}

/** `data` of an event create: `title` and `start` are required. */
export class CreateEventDto extends EventFieldsDto {
  @IsString()
  @Length(1, 500)
  title: string;

  @IsSyncDate()
  start: string;
}

export const EVENT_DEFAULTS = { description: null, end: null, attendees: [] };
