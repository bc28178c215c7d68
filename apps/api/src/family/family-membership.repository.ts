import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FamilyRole } from './family-member.entity';

@Injectable()
export class FamilyMembershipRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** One primary-key look-up; no cache, so a removal is seen by every instance at once. */
  async roleOf(familyId: string, userId: string): Promise<FamilyRole | undefined> {
    const rows: { role: FamilyRole }[] = await this.dataSource.query(
      'SELECT role FROM family_members WHERE family_id = $1 AND user_id = $2',
      [familyId, userId],
    );
    return rows[0]?.role;
  }
}
