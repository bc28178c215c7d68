import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PROTOCOL 2.12: what people decided in the conflict inbox (counts per family, entity type
 * and field, kept by the push that dismissed the entries) and the per-family policies an
 * owner accepted (read with every push's load).
 */
export class ResolutionPolicies1764116300000 implements MigrationInterface {
  name = 'ResolutionPolicies1764116300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sync_resolution_decisions (
        family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        entity_type text NOT NULL,
        field text NOT NULL,
        decisions integer NOT NULL,
        restored integer NOT NULL,
        PRIMARY KEY (family_id, entity_type, field)
      )`);
    await q.query(`
      CREATE TABLE sync_resolution_policies (
        family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        entity_type text NOT NULL,
        field text NOT NULL,
        rule text NOT NULL CHECK (rule IN ('keep_device')),
        set_by text NOT NULL,
        set_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (family_id, entity_type, field)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE sync_resolution_policies');
    await q.query('DROP TABLE sync_resolution_decisions');
  }
}
