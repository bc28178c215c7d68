import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Caller } from '../auth/caller';
import { FamilyCaller } from './family-caller';
import { FamilyErrorCode, FamilyException } from './family.exception';
import { FamilyRole } from './family-member.entity';
import { MEMBER_REMOVED_CHANNEL } from './member-removed-notice';
import { FamilyResponse, MemberResponse } from './dto/family.response';

interface MemberRow {
  user_id: string;
  role: FamilyRole;
  joined_at: string;
}

const toMember = (row: MemberRow): MemberResponse => ({
  userId: row.user_id,
  role: row.role,
  joinedAt: new Date(row.joined_at).toISOString(),
});

const MEMBER_COLUMNS = `user_id, role, to_char(joined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS joined_at`;

@Injectable()
export class FamilyService {
  constructor(private readonly dataSource: DataSource) {}

  async create(caller: Caller, name: string): Promise<FamilyResponse> {
    const [family] = await this.dataSource.query(
      `WITH family AS (INSERT INTO families (name) VALUES ($1) RETURNING id, name)
       , owner AS (INSERT INTO family_members (family_id, user_id, role) SELECT id, $2, 'owner' FROM family)
       SELECT id, name FROM family`,
      [name, caller.userId],
    );
    return { id: family.id, name: family.name, role: 'owner' };
  }

  async members(familyId: string): Promise<MemberResponse[]> {
    const rows: MemberRow[] = await this.dataSource.query(
      `SELECT ${MEMBER_COLUMNS} FROM family_members WHERE family_id = $1 ORDER BY joined_at, user_id`,
      [familyId],
    );
    return rows.map(toMember);
  }

  async addMember(familyId: string, userId: string, role: FamilyRole): Promise<MemberResponse> {
    const rows: MemberRow[] = await this.dataSource.query(
      `INSERT INTO family_members (family_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (family_id, user_id) DO NOTHING
       RETURNING ${MEMBER_COLUMNS}`,
      [familyId, userId, role],
    );
    if (rows.length === 0) throw new FamilyException(FamilyErrorCode.AlreadyMember, { userId });
    return toMember(rows[0]);
  }

  /**
   * Owners remove anyone; a member may remove only themself (leave). The family row is
   * locked first, so two owners removing each other at the same time cannot both succeed
   * and leave the family without an owner.
   */
  async removeMember(caller: FamilyCaller, userId: string): Promise<void> {
    if (caller.role !== 'owner' && caller.userId !== userId) throw new FamilyException(FamilyErrorCode.NotOwner);
    await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT 1 FROM families WHERE id = $1 FOR UPDATE', [caller.familyId]);
      const members: { user_id: string; role: FamilyRole }[] = await manager.query(
        'SELECT user_id, role FROM family_members WHERE family_id = $1',
        [caller.familyId],
      );
      const me = members.find((m) => m.user_id === caller.userId);
      if (!me || (me.role !== 'owner' && caller.userId !== userId)) {
        throw new FamilyException(me ? FamilyErrorCode.NotOwner : FamilyErrorCode.NotMember);
      }
      const target = members.find((m) => m.user_id === userId);
      if (!target) throw new FamilyException(FamilyErrorCode.MemberNotFound, { userId });
      if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
        throw new FamilyException(FamilyErrorCode.LastOwner);
      }
      // The removal is announced in the same statement (delivered on commit) so that every
      // instance closes the removed user's realtime streams.
      await manager.query(
        `WITH removed AS (DELETE FROM family_members WHERE family_id = $1 AND user_id = $2 RETURNING family_id, user_id)
         SELECT pg_notify('${MEMBER_REMOVED_CHANNEL}', json_build_object('f', family_id, 'u', user_id)::text) FROM removed`,
        [caller.familyId, userId],
      );
    });
  }
}
