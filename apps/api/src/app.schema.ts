import { SchemaDefinition } from '@app/database';
import { FamilyMemberEntity } from './family/family-member.entity';
import { FamilyEntity } from './family/family.entity';
import { CreateFamilies1764115200000 } from './family/migrations/1764115200000-create-families';

/**
 * Every entity and migration of the service, listed explicitly (globs break once compiled
 * or bundled). Shared by the app and the TypeORM CLI (`ormconfig.ts`).
 */
export const appSchema: SchemaDefinition = {
  entities: [FamilyEntity, FamilyMemberEntity],
  migrations: [CreateFamilies1764115200000],
};
