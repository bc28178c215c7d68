import { HttpStatus, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainException } from '../../common/domain.exception';
import { wilsonLowerBound } from './wilson';

/** The rule-4 fields a family may set `keep_device` for (PROTOCOL 2.12): last writer wins decides them. */
export const POLICY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  task: ['title', 'desc', 'points', 'assignees', 'due'],
  event: ['title', 'description', 'start', 'end', 'attendees'],
};

/** A suggestion is listed from this many decisions, and this confidence (PROTOCOL 2.12). */
export const MIN_DECISIONS = 20;
export const MIN_CONFIDENCE = 0.8;

export interface Suggestion {
  entity_type: string;
  field: string;
  current: 'last_writer_wins';
  suggested: 'keep_device';
  decisions: number;
  restored: number;
  confidence: number;
}

export interface Policy {
  entity_type: string;
  field: string;
  rule: 'keep_device';
  set_by: string;
  set_at: string;
}

export class PolicyFieldException extends DomainException {
  constructor(message: string) {
    super('validation', HttpStatus.BAD_REQUEST, message);
  }
}

/** PROTOCOL 2.12: suggestions from the inbox decisions, and the family's accepted policies. */
@Injectable()
export class ResolutionPolicies {
  constructor(private readonly dataSource: DataSource) {}

  async suggestions(familyId: string): Promise<Suggestion[]> {
    const rows: { entity_type: string; field: string; decisions: number; restored: number }[] = await this.dataSource.query(
      `SELECT d.entity_type, d.field, d.decisions, d.restored FROM sync_resolution_decisions d
       WHERE d.family_id = $1 AND d.decisions >= $2
         AND NOT EXISTS (SELECT 1 FROM sync_resolution_policies p WHERE p.family_id = d.family_id AND p.entity_type = d.entity_type AND p.field = d.field)
       ORDER BY d.entity_type, d.field`,
      [familyId, MIN_DECISIONS],
    );
    return rows
      .filter((r) => POLICY_FIELDS[r.entity_type]?.includes(r.field))
      .map((r) => ({ ...r, confidence: Math.round(wilsonLowerBound(r.restored, r.decisions) * 1000) / 1000 }))
      .filter((r) => r.confidence >= MIN_CONFIDENCE)
      .map((r) => ({
        entity_type: r.entity_type,
        field: r.field,
        current: 'last_writer_wins',
        suggested: 'keep_device',
        decisions: r.decisions,
        restored: r.restored,
        confidence: r.confidence,
      }));
  }

  async list(familyId: string): Promise<Policy[]> {
    const rows: (Omit<Policy, 'set_at'> & { set_at: Date })[] = await this.dataSource.query(
      'SELECT entity_type, field, rule, set_by, set_at FROM sync_resolution_policies WHERE family_id = $1 ORDER BY entity_type, field',
      [familyId],
    );
    return rows.map((r) => ({ ...r, set_at: r.set_at.toISOString() }));
  }

  /** Sets (`keep_device`) or removes (`default`) a field's policy; the next push of the family uses it. */
  async set(familyId: string, userId: string, entityType: string, field: string, rule: 'keep_device' | 'default'): Promise<Policy[]> {
    const fields = POLICY_FIELDS[entityType];
    if (!fields)
      throw new PolicyFieldException(
        `entity_type: policies apply to ${Object.keys(POLICY_FIELDS).join(' and ')} (rule 4), not "${entityType}"`,
      );
    if (!fields.includes(field))
      throw new PolicyFieldException(`field: "${field}" is not a rule-4 field of ${entityType} (${fields.join(', ')})`);
    if (rule === 'default') {
      await this.dataSource.query('DELETE FROM sync_resolution_policies WHERE family_id = $1 AND entity_type = $2 AND field = $3', [
        familyId,
        entityType,
        field,
      ]);
    } else {
      await this.dataSource.query(
        `INSERT INTO sync_resolution_policies (family_id, entity_type, field, rule, set_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (family_id, entity_type, field) DO UPDATE SET rule = EXCLUDED.rule, set_by = EXCLUDED.set_by, set_at = now()`,
        [familyId, entityType, field, rule, userId],
      );
    }
    return this.list(familyId);
  }
}
