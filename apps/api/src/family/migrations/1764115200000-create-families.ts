import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateFamilies1764115200000 implements MigrationInterface {
  name = 'CreateFamilies1764115200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE families (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The primary key (family_id, user_id) is the index of the membership check that every
    // family-scoped request makes; user_id lists a user's families.
    await q.query(`
      CREATE TABLE family_members (
        family_id uuid NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        user_id text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 128),
        role text NOT NULL CHECK (role IN ('owner', 'member')),
        joined_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (family_id, user_id)
      )`);
    await q.query(`CREATE INDEX family_members_user_id_idx ON family_members (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE family_members`);
    await q.query(`DROP TABLE families`);
  }
}
