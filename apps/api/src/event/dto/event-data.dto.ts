import { ArrayMaxSize, IsArray, IsISO8601, IsOptional, IsString, Length, MaxLength, ValidateIf } from 'class-validator';

/** `data` of an event update: a partial patch. */
export class PatchEventDto {
  @ValidateIf((o) => o.title !== undefined)
  @IsString()
  @Length(1, 500)
  title?: string;

  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;

  @ValidateIf((o) => o.start !== undefined)
  @IsISO8601({ strict: true })
  start?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  end?: string | null;

  @ValidateIf((o) => o.attendees !== undefined)
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @Length(1, 128, { each: true })
  attendees?: string[];
}

/** `data` of an event create: `title` and `start` are required. */
export class CreateEventDto extends PatchEventDto {
  @IsString()
  @Length(1, 500)
  declare title: string;

  @IsISO8601({ strict: true })
  declare start: string;
}

export const EVENT_DEFAULTS = { description: null, end: null, attendees: [] };
