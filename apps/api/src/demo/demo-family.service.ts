import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { sign } from 'jsonwebtoken';
import { DataSource } from 'typeorm';
import type { AppConfig } from '@app/config';
import { loadOrCreateDevSecret } from '../auth/dev-secret';
import { DEMO_FAMILY_NAME, DEMO_MEMBERS, DemoMember } from './demo-mode';

export interface DemoToken {
  token: string;
  userId: string;
  familyId: string;
  members: readonly string[];
  expiresAt: string;
}

const TOKEN_HOURS = 12;

/**
 * The demo family (created once, found again after restarts: alice owns it, bob and carol
 * are members) and tokens for its members, signed with the development secret.
 */
@Injectable()
export class DemoFamilyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async mint(member: DemoMember): Promise<DemoToken> {
    const familyId = await this.familyId();
    const auth = this.config.get('auth', { infer: true });
    const secret = loadOrCreateDevSecret(this.config.get('dataDir', { infer: true })).secret;
    const token = sign({ sub: member, familyId }, secret, {
      algorithm: 'HS256',
      expiresIn: `${TOKEN_HOURS}h`,
      ...(auth.issuer ? { issuer: auth.issuer } : {}),
      ...(auth.audience ? { audience: auth.audience } : {}),
    });
    const expiresAt = new Date(Date.now() + TOKEN_HOURS * 3_600_000).toISOString();
    return { token, userId: member, familyId, members: DEMO_MEMBERS, expiresAt };
  }

  /** Finds or creates the family; an advisory lock keeps two first requests from creating two. */
  private familyId(): Promise<string> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('delta-sync-demo-family'))`);
      const [found] = await tx.query(
        `SELECT f.id FROM families f JOIN family_members m ON m.family_id = f.id AND m.user_id = $2 AND m.role = 'owner'
         WHERE f.name = $1 ORDER BY f.created_at LIMIT 1`,
        [DEMO_FAMILY_NAME, DEMO_MEMBERS[0]],
      );
      const id: string = found?.id ?? (await tx.query(`INSERT INTO families (name) VALUES ($1) RETURNING id`, [DEMO_FAMILY_NAME]))[0].id;
      await tx.query(
        `INSERT INTO family_members (family_id, user_id, role)
         SELECT $1, u, CASE WHEN u = $3 THEN 'owner' ELSE 'member' END FROM unnest($2::text[]) AS u
         ON CONFLICT (family_id, user_id) DO NOTHING`,
        [id, DEMO_MEMBERS, DEMO_MEMBERS[0]],
      );
      return id;
    });
  }
}
