import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isoMicrosOf, type Transaction } from '@app/database';
import { MEMBER_REMOVED_CHANNEL } from './member-removed-notice';
import { FamilyRole } from './family-member.entity';
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

const MEMBER_COLUMNS = `user_id, role, ${isoMicrosOf('joined_at')} AS joined_at`;

/** The SQL of families and their members. */
@Injectable()
export class FamilyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The family and its first owner, in one statement. */
  async create(name: string, ownerId: string): Promise<Omit<FamilyResponse, 'role'>> {
    const [family] = await this.dataSource.query(
      `WITH family AS (INSERT INTO families (name) VALUES ($1) RETURNING id, name)
       , owner AS (INSERT INTO family_members (family_id, user_id, role) SELECT id, $2, 'owner' FROM family)
       SELECT id, name FROM family`,
      [name, ownerId],
    );
    return { id: family.id, name: family.name };
  }

  async members(familyId: string): Promise<MemberResponse[]> {
    const rows: MemberRow[] = await this.dataSource.query(
      `SELECT ${MEMBER_COLUMNS} FROM family_members WHERE family_id = $1 ORDER BY joined_at, user_id`,
      [familyId],
    );
    return rows.map(toMember);
  }

  /** The new member; undefined when the user already is one. */
  async addMember(familyId: string, userId: string, role: FamilyRole): Promise<MemberResponse | undefined> {
    const rows: MemberRow[] = await this.dataSource.query(
      `INSERT INTO family_members (family_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (family_id, user_id) DO NOTHING
       RETURNING ${MEMBER_COLUMNS}`,
      [familyId, userId, role],
    );
    return rows[0] && toMember(rows[0]);
  }

  /** Locks the family row (membership changes of one family run one at a time) and lists its members. */
  async lockMembers(tx: Transaction, familyId: string): Promise<{ user_id: string; role: FamilyRole }[]> {
    await tx.query('SELECT 1 FROM families WHERE id = $1 FOR UPDATE', [familyId]);
    return tx.query('SELECT user_id, role FROM family_members WHERE family_id = $1', [familyId]);
  }

  /**
   * The removal is announced in the same statement (NOTIFY is delivered on commit only) so
   * that every instance closes the removed user's realtime streams.
   */
  async deleteMember(tx: Transaction, familyId: string, userId: string): Promise<void> {
    await tx.query(
      `WITH removed AS (DELETE FROM family_members WHERE family_id = $1 AND user_id = $2 RETURNING family_id, user_id)
       SELECT pg_notify('${MEMBER_REMOVED_CHANNEL}', json_build_object('f', family_id, 'u', user_id)::text) FROM removed`,
      [familyId, userId],
    );
  }
}
