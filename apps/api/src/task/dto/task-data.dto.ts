import { ArrayMaxSize, IsArray, IsIn, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { IsSyncDate } from '@app/sync-contract';

export const TASK_STATUSES = ['open', 'in_progress', 'done'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/**
 * The fields a create and a patch validate alike. `title` is declared by each subclass: a
 * `@ValidateIf` on an inherited property would also skip the subclass's own validators, so a
 * create without a title would pass.
 */
abstract class TaskFieldsDto {
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  desc?: string | null;

  @ValidateIf((o) => o.status !== undefined)
  @IsIn(TASK_STATUSES)
  status?: TaskStatus;

  @ValidateIf((o) => o.assignees !== undefined)
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Length(1, 128, { each: true })
  assignees?: string[];

  @IsOptional()
  @IsSyncDate()
  due?: string | null;

  @ValidateIf((o) => o.points !== undefined)
  @IsInt()
  @Min(0)
  @Max(100000)
  points?: number;

  @IsOptional()
  @IsSyncDate()
  completedAt?: string | null;
}

/** `data` of a task update: a partial patch; fields that are present must be valid. */
export class PatchTaskDto extends TaskFieldsDto {
  @ValidateIf((o) => o.title !== undefined)
  @IsString()
  @Length(1, 500)
  title?: string;
}

/** `data` of a task create: `title` is required. */
export class CreateTaskDto extends TaskFieldsDto {
  @IsString()
  @Length(1, 500)
  title: string;
}

export const TASK_DEFAULTS = { desc: null, status: 'open', assignees: [], due: null, points: 0, completedAt: null };
