import { Column, Entity, PrimaryColumn } from 'typeorm';

export type FamilyRole = 'owner' | 'member';

@Entity({ name: 'family_members', synchronize: false })
export class FamilyMemberEntity {
  @PrimaryColumn({ name: 'family_id', type: 'uuid' })
  familyId: string;

  @PrimaryColumn({ name: 'user_id', type: 'text' })
  userId: string;

  @Column({ type: 'text' })
  role: FamilyRole;

  @Column({ name: 'joined_at', type: 'timestamptz', default: () => 'now()' })
  joinedAt: Date;
}
