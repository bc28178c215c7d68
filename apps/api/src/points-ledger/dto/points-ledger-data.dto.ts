import { IsInt, IsNotIn, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';

/** `data` of a points entry (append-only: there is no patch). */
export class CreatePointsLedgerDto {
  @IsString()
  @Length(1, 128)
  userId: string;

  @IsInt()
  @Min(-1_000_000)
  @Max(1_000_000)
  @IsNotIn([0], { message: 'delta must not be zero' })
  delta: number;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  reason?: string | null;

  @IsOptional()
  @IsString()
  @Length(1, 128)
  taskId?: string | null;
}

export const POINTS_LEDGER_DEFAULTS = { reason: null, taskId: null };
