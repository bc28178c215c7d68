import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Length } from 'class-validator';
import type { FamilyRole } from '../family-member.entity';

export class AddMemberDto {
  @ApiProperty({ example: 'bob', description: "The member-to-be's user id (the `sub` of their tokens)" })
  @IsString()
  @Length(1, 128)
  userId: string;

  @ApiProperty({ enum: ['member', 'owner'], example: 'member' })
  @IsIn(['member', 'owner'])
  role: FamilyRole;
}
