import { ApiProperty } from '@nestjs/swagger';
import type { FamilyRole } from '../family-member.entity';

export class FamilyResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ enum: ['owner', 'member'] })
  role: FamilyRole;
}

export class MemberResponse {
  @ApiProperty()
  userId: string;

  @ApiProperty({ enum: ['owner', 'member'] })
  role: FamilyRole;

  @ApiProperty({ format: 'date-time' })
  joinedAt: string;
}
